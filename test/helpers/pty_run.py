# Runs a command on a new pseudo-terminal, types into it, and reports what a user would see:
# the output, the exit status, and whether the terminal modes were restored afterwards.
# usage: pty_run.py [WAIT_FOR INPUT_HEX]... -- COMMAND...  (prints one JSON object)
# Each INPUT_HEX is typed once the output so far contains its WAIT_FOR; "SIGTERM" sends that signal instead.
# PTY_RUN_SECONDS (default 30) bounds the whole session.
import json, os, pty, select, signal, sys, termios, time

sep = sys.argv.index("--")
steps = [(sys.argv[i].encode(), sys.argv[i + 1]) for i in range(1, sep, 2)]
cmd = sys.argv[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
before = termios.tcgetattr(fd)
out = b""
during = None
deadline = time.time() + float(os.environ.get("PTY_RUN_SECONDS", "30"))
status = None
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        out += chunk
    if steps and steps[0][0] in out:
        during = during or termios.tcgetattr(fd)
        action = steps.pop(0)[1]
        if action == "SIGTERM":
            os.kill(pid, signal.SIGTERM)
        else:
            os.write(fd, bytes.fromhex(action))
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(st)
        break
after = termios.tcgetattr(fd)
raw_during = during is not None and not (during[3] & termios.ICANON)
print(json.dumps({
    "output": out.decode("latin1"),
    "status": status,
    "rawWhileRunning": bool(raw_during),
    "restored": before == after,
}))
