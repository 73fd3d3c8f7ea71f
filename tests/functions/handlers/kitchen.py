"""A function that does what its event's "do" says; most runtime tests share warm workers of it.

Runs inside a worker (not collected by pytest): only the standard library.
"""

import decimal
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time

STATE = {"calls": 0}
print("kitchen: module imported")


def handler(event, context):
    STATE["calls"] += 1
    return ACTIONS[event.get("do", "echo")](event, context)


def echo(event, context):
    return {"event": event, "pid": os.getpid(), "calls": STATE["calls"]}


def describe_context(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(event.get("pause", 0.05))
    return {
        "function_name": context.function_name, "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn, "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id, "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name, "remaining": [first, context.get_remaining_time_in_millis()],
    }


def describe_process(event, context):
    return {
        "environ": dict(os.environ), "cwd": os.getcwd(), "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "sys_path": sys.path, "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
        "tmpdir": tempfile.gettempdir(), "pid": os.getpid(), "stdout_encoding": sys.stdout.encoding,
    }


def fail(event, context):
    raise ValueError(event.get("message", "boom"))


def read_file(event, context):
    try:
        with open(event["path"]) as file:
            return {"read": file.read()}
    except OSError as exc:
        return {"error": type(exc).__name__}


def list_directory(event, context):
    try:
        return {"entries": os.listdir(event["path"])}
    except OSError as exc:
        return {"error": type(exc).__name__}


def write_file(event, context):
    try:
        with open(event["path"], "w") as file:
            file.write("changed")
    except OSError as exc:
        return {"error": type(exc).__name__}
    return {"written": event["path"]}


def print_lots(event, context):
    line = "x" * 1023 + "\n"
    for _ in range(event["kilobytes"]):
        sys.stdout.write(line)
    print("the-end")
    return {"printed": event["kilobytes"]}


def log_lines(event, context):
    print("printed line")
    logging.getLogger().warning("warned %s", 1)
    sys.stderr.write("to stderr\n")
    return None


def hang(event, context):
    child = subprocess.Popen(["sleep", "300"])
    print(json.dumps({"pid": os.getpid(), "child": child.pid}), flush=True)
    time.sleep(300)


def rendezvous(event, context):
    """Wait until ``expected`` invocations have arrived, and then for ``go`` (if given): proves they overlap."""
    directory = event["directory"]
    open(os.path.join(directory, f"started-{os.getpid()}-{context.aws_request_id}"), "w").close()
    while sum(name.startswith("started-") for name in os.listdir(directory)) < event["expected"]:
        time.sleep(0.01)
    while event.get("go") and not os.path.exists(os.path.join(directory, "go")):
        time.sleep(0.01)
    return {"pid": os.getpid()}


def allocate(event, context):
    blocks = [bytearray(1 << 20) for _ in range(event["megabytes"])]
    return {"allocated": len(blocks)}


ACTIONS = {
    "echo": echo, "context": describe_context, "process": describe_process, "fail": fail,
    "read": read_file, "list": list_directory, "write": write_file, "print": print_lots, "log": log_lines,
    "hang": hang, "rendezvous": rendezvous, "allocate": allocate,
    "unserializable": lambda event, context: {"set": {1, 2}},
    "large": lambda event, context: "x" * event["size"],
    "decimal": lambda event, context: {"half": decimal.Decimal("1.5"), "ten": decimal.Decimal("10")},
    "bytes": lambda event, context: b"raw \x00 bytes",
    "exit": lambda event, context: sys.exit(event["status"]),
    "_exit": lambda event, context: os._exit(event["status"]),
    "kill": lambda event, context: os.kill(os.getpid(), signal.SIGKILL),
    "close_channel": lambda event, context: [os.close(fd) for fd in range(3, 64) if fd_is_socket(fd)],
}


def fd_is_socket(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    except OSError:
        return False
