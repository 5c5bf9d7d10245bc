#!/usr/bin/env python3
"""make readme-check (part of make test): the README's commands work as written.

1. Every fenced `sh` block: each `make <target>` names a target of the Makefile, each
   `target/debug/<bin>` a binary of the workspace, each `scripts/<file>` a file.
2. Starts the local stack exactly as `make run` does (scripts/run-local.sh; its own .run
   directory, port 9000 when free), then checks that it listens on 127.0.0.1 only, runs
   every command of the blocks marked `<!-- readme-check: run -->` from a clean
   environment (each must exit 0 and print something), finds every line of the block
   marked `<!-- readme-check: log -->` in the functions' log, pages GET /leads?status=
   (full pages while more exist), and stops the stack with a Ctrl-C (SIGINT): exit 0,
   nothing left listening.
"""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- readme-check: (\w+) -->$")
failures = []


def fail(message):
    failures.append(message)
    print(f"    FAIL: {message}")


def blocks(text):
    """(marker, info string, body) of every fenced block; a marker is the comment line
    right before a block's opening fence."""
    found, lines, i, marker = [], text.split("\n"), 0, None
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line.strip())
        if m:
            marker = m.group(1)
        elif line.startswith("```"):
            info, body = line[3:].strip(), []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            found.append((marker, info, "\n".join(body)))
            marker = None
        else:
            marker = None
        i += 1
    return found


def commands(body):
    """The block's command lines, continuation lines joined."""
    return [c.strip() for c in body.replace("\\\n", " ").split("\n") if c.strip()]


def make_targets():
    out = subprocess.run(["make", "-pRrq", ":"], cwd=ROOT, capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"^([a-zA-Z0-9][a-zA-Z0-9_.-]*):(?!=)", out, re.M)}


def workspace_binaries():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    return {t["name"] for p in meta["packages"] for t in p["targets"] if "bin" in t["kind"]}


def static_check(all_blocks):
    targets, bins = make_targets(), workspace_binaries()
    checked = 0
    for _, info, body in all_blocks:
        if info != "sh":
            continue
        for command in commands(body):
            try:
                words = shlex.split(command, comments=True)
            except ValueError:
                continue  # a line inside a multi-line quoted argument
            for i, word in enumerate(words):
                if word == "make":
                    for arg in words[i + 1:]:
                        if "=" in arg or arg.startswith("-"):
                            continue
                        if arg == "make" or not re.fullmatch(r"[a-z][a-z0-9-]*", arg):
                            break
                        checked += 1
                        if arg not in targets:
                            fail(f"`{command}`: no make target {arg}")
                for m in re.finditer(r"target/debug/([A-Za-z0-9_-]+)", word):
                    checked += 1
                    if m.group(1) not in bins:
                        fail(f"`{command}`: no binary {m.group(1)} in the workspace")
                if word.startswith("scripts/"):
                    checked += 1
                    if not (ROOT / word).exists():
                        fail(f"`{command}`: no file {word}")
    print(f"==> README: {checked} make targets, binaries and scripts named in sh blocks exist")


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def descendants(root_pid):
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [root_pid]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def listeners():
    """(local address, port, pid or None) of every TCP listener."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        cols = line.split()
        address, _, port = cols[3].rpartition(":")
        pid = re.search(r"pid=(\d+)", line)
        found.append((address, int(port), int(pid.group(1)) if pid else None))
    return found


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def log_pattern(sample):
    pattern = re.escape(sample.strip()).replace("…", ".*")
    pattern = re.sub(r"\d+", r"\\d+", pattern)
    pattern = re.sub(r"\bleads?\b", "leads?", pattern)
    return re.compile("^" + pattern + "$")


def live_check(all_blocks):
    run_dir = ROOT / ".run" / "readme-check"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "stack.env").unlink(missing_ok=True)
    port = 9000 if port_free(9000) else None
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    # A clean environment, as a newcomer has: no AWS or Twenty settings of the caller's.
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("AWS_", "TWENTY_", "LEADS_", "WEBHOOK_", "MAKE", "MFLAGS"))}
    tools = str(ROOT / ".tools" / "venv" / "bin")
    clean["PATH"] = os.pathsep.join(p for p in clean.get("PATH", "").split(os.pathsep) if p != tools)
    clean["SPARTAN_RUN_DIR"] = str(run_dir)
    # The README's five-object list, commas and all: the functions must get it whole.
    objects = "leads,notes,noteTargets,people,companies"
    env = dict(clean, WATCH_PORT=str(port), SYNC_INTERVAL_SECONDS="3600", TWENTY_OBJECTS=objects)
    stack_log = open(run_dir / "make-run.out", "w")
    started = time.monotonic()
    stack = subprocess.Popen(["scripts/run-local.sh"], cwd=ROOT, env=env, stdout=stack_log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    try:
        stack_env = run_dir / "stack.env"
        while not stack_env.exists():
            if stack.poll() is not None or time.monotonic() - started > 300:
                raise RuntimeError("the local stack did not get ready:\n"
                                   + (run_dir / "make-run.out").read_text()[-3000:])
            time.sleep(0.2)
        settings = dict(line.split("=", 1) for line in stack_env.read_text().splitlines()
                        if "=" in line and not line.startswith("#"))
        print(f"==> local stack ready in {time.monotonic() - started:.1f} s on port {port}")

        dynamodb_port = int(settings["AWS_ENDPOINT_URL_DYNAMODB"].rsplit(":", 1)[1])
        ports = {port, dynamodb_port, int(settings["TWENTY_API_URL"].rsplit(":", 1)[1])}
        mine = descendants(stack.pid)
        stack_listeners = [(a, p) for a, p, pid in listeners() if p in ports or pid in mine]
        exposed = [f"{a}:{p}" for a, p in stack_listeners
                   if a not in ("127.0.0.1", "[::ffff:127.0.0.1]")]
        modules = subprocess.run(["java", "--list-modules"], capture_output=True, text=True).stdout
        if "jdk.compiler@" not in modules and any(e.endswith(f":{dynamodb_port}") for e in exposed):
            # dynamodb-local.sh's documented fallback on a bare JRE: warned, not failed.
            print("    WARNING: no JDK: DynamoDB Local listens on every interface (see Troubleshooting)")
            exposed = [e for e in exposed if not e.endswith(f":{dynamodb_port}")]
        if exposed:
            fail(f"listening beyond 127.0.0.1: {', '.join(exposed)}")
        else:
            print(f"    ok: {len(stack_listeners)} listeners, all on 127.0.0.1")

        for marker, _, body in all_blocks:
            if marker != "run":
                continue
            for command in commands(body):
                shown = command.split("  #")[0].strip()
                actual = command.replace("127.0.0.1:9000", f"127.0.0.1:{port}") \
                    .replace("--invoke-port 9000", f"--invoke-port {port}")
                t0 = time.monotonic()
                result = subprocess.run(["bash", "-c", actual], cwd=ROOT, env=clean,
                                        capture_output=True, text=True, timeout=120)
                took = time.monotonic() - t0
                if result.returncode != 0 or not result.stdout.strip():
                    fail(f"`{shown}` exited {result.returncode}: "
                         f"{(result.stderr or result.stdout).strip()[-600:]}")
                else:
                    lines = result.stdout.strip().splitlines()
                    said = [lines[0]] + [l for l in lines[-1:] if l.strip() not in ("}", lines[0])]
                    print(f"    ok ({took:.1f} s): {shown}")
                    for line in said:
                        print(f"        {line[:100]}")

        log = [line.strip() for line in (run_dir / "functions.log").read_text().splitlines()]
        for marker, _, body in all_blocks:
            if marker != "log":
                continue
            for sample in body.splitlines():
                if sample.strip() and not any(log_pattern(sample).match(line) for line in log):
                    fail(f"no line like the README's `{sample.strip()[:80]}` in the log")
        print("    ok: the README's sample log lines match the functions' log")

        status = get_json(settings["LEADS_API_URL"].rsplit("/", 1)[0] + "/sync")
        pulled = [o["object"] for o in status.get("objects", [])]
        if pulled != objects.split(",")[1:]:
            fail(f"TWENTY_OBJECTS={objects}: GET /sync shows {pulled} besides the leads")
        else:
            print(f"    ok: TWENTY_OBJECTS={objects} reached the functions (GET /sync: {pulled})")
        if (run_dir / "functions.env").stat().st_mode & 0o077:
            fail("the functions' environment file (API key, webhook secret) is readable by others")

        sizes, url = [], settings["LEADS_API_URL"] + "?status=QUALIFIED&limit=5"
        while True:
            page = get_json(url)
            sizes.append(len(page["data"]))
            cursor = page.get("nextCursor")
            if not cursor or len(sizes) > 50:
                break
            url = settings["LEADS_API_URL"] + f"?status=QUALIFIED&limit=5&cursor={cursor}"
        if any(n != 5 for n in sizes[:-1]) or (len(sizes) > 1 and sizes[-1] == 0):
            fail(f"GET /leads?status=QUALIFIED&limit=5 pages were {sizes}")
        else:
            print(f"    ok: GET /leads?status=QUALIFIED&limit=5 pages: {sizes}")
    finally:
        if stack.poll() is None:
            stack.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            code = stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
            code = "killed after 60 s"
        stack_log.close()
    if code != 0:
        fail(f"Ctrl-C: make run's script exited {code}, not 0")
    leftover = [f"{a}:{p}" for a, p, _ in listeners() if p in ports]
    left = [f for f in ("stack.env", "functions.env") if (run_dir / f).exists()]
    if leftover or left:
        fail(f"after Ctrl-C still listening: {leftover}, files left: {left}")
    else:
        print("    ok: Ctrl-C stopped everything (exit 0, no listener left, stack.env and functions.env removed)")


def main():
    all_blocks = blocks(README.read_text())
    static_check(all_blocks)
    if "--static" not in sys.argv:
        live_check(all_blocks)
    if failures:
        print(f"README CHECK FAILED: {len(failures)} problem(s)")
        return 1
    print("README CHECK PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
