#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal (its controlling terminal) and scripts it, for TTY tests.

    pty-run.py '{"argv": [...], "env": {...}, "size": [rows, cols], "timeout": 20,
                 "steps": [{"wait": "REGEX", "resize": [rows, cols]}, {"wait": "REGEX", "write": "text"}]}'

Each step waits until the output so far matches REGEX (searched after the previous step's match), then
sleeps ("sleep": seconds), puts the terminal back in its original mode ("cooked": true, as a shell does when
a job stops), resizes the terminal (the kernel sends SIGWINCH), writes input, or sends a signal ("signal": "TERM"), and with "probe": true records whether the
terminal is in raw mode 0.3 s later (in "probes"). Prints one JSON object: code (exit code,
or -signal), output (everything the command wrote), and the terminal's `stty -g`-like attributes before and
after, read from our own descriptor of the terminal's slave end.
"""
import fcntl, json, os, re, select, signal, struct, subprocess, sys, termios, time

cfg = json.loads(sys.argv[1])
master, slave = os.openpty()


def set_size(rows, cols):
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))


set_size(*cfg.get('size', [24, 80]))
before = termios.tcgetattr(slave)
child = subprocess.Popen(
    cfg['argv'], stdin=slave, stdout=slave, stderr=slave, env=cfg.get('env'), close_fds=True,
    start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
deadline = time.time() + cfg.get('timeout', 20)
output = b''
steps = list(cfg.get('steps', []))
searched = 0
probes = []  # per 'probe' step: whether the terminal is in raw (non-canonical) mode then
exited_at = None
while time.time() < deadline:
    ready, _, _ = select.select([master], [], [], 0.05)
    if ready:
        try:
            output += os.read(master, 65536)
        except OSError:
            pass
    while steps:
        match = re.compile(steps[0]['wait'].encode()).search(output, searched)
        if not match:
            break
        searched = match.end()
        step = steps.pop(0)
        if 'sleep' in step:
            time.sleep(step['sleep'])
        if step.get('cooked'):
            # what a shell does when its job stops: the terminal back in the mode it had before
            termios.tcsetattr(slave, termios.TCSANOW, before)
        if 'resize' in step:
            set_size(*step['resize'])
        if 'write' in step:
            os.write(master, step['write'].encode())
        if 'signal' in step:
            child.send_signal(getattr(signal, 'SIG' + step['signal']))
        if step.get('probe'):
            time.sleep(0.3)
            probes.append(not (termios.tcgetattr(slave)[3] & termios.ICANON))
    if child.poll() is not None:
        exited_at = exited_at or time.time()
        if not ready and time.time() - exited_at > 0.3:
            break
if child.poll() is None:
    child.kill()
    child.wait()
after = termios.tcgetattr(slave)
print(json.dumps({'code': child.returncode, 'output': output.decode('utf8', 'replace'), 'before': repr(before),
                  'after': repr(after), 'pendingSteps': len(steps), 'probes': probes}))
