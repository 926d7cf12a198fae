#!/usr/bin/python3
"""Delays the packets a lab host sends: the link's latency, jitter and reordering (orchestrator/lab/impair.py).

Runs in a helper container that shares the host's network namespace and holds NET_ADMIN; an iptables rule
(mangle POSTROUTING, out of eth0) hands each packet the host sends to netfilter queue QUEUE, and this
program gives each back (NF_ACCEPT) once its delay has passed: DELAY ms, plus or minus up to JITTER ms
(uniform), except REORDER percent of them, which go at once (netem's `reorder`: they overtake those held).
The per-packet choices come from a PRNG seeded with SEED, so a play draws the same delays every time for
the same packets in the same order.

Why this and not netem: the kernels of some Docker hosts have no sch_netem (this project's CI machine has
none), netfilter's queue is built in wherever Docker runs (its NFQUEUE target), and a seeded userspace
clock makes jitter reproducible, which netem's is not. The packet stays in the kernel: only its id comes
here (NFQNL_COPY_META), so no byte of what the student's program sent is read.

The NFQUEUE protocol over a netlink socket (include/uapi/linux/netfilter/nfnetlink_queue.h), written out
with the standard library: the image has no libnetfilter_queue binding, and the four messages used here are
short. Prints `bound` once the queue is its own (the rule goes in after), and on SIGTERM/SIGINT lets every
held packet go before it ends (a queue that disappears drops what it holds).

usage: delayer.py QUEUE DELAY_MS JITTER_MS REORDER_PERCENT SEED
"""
import heapq
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER, SOL_NETLINK, NETLINK_NO_ENOBUFS = 12, 270, 5
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR, NLMSG_DONE = 2, 3
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS = 1, 2, 3, 4, 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1  # a full queue lets packets through rather than dropping them
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
QUEUE_MAXLEN = 4096


def attr(kind: int, payload: bytes) -> bytes:
    head = struct.pack("=HH", 4 + len(payload), kind)
    return head + payload + b"\0" * (-len(payload) % 4)


def message(kind: int, queue: int, attrs: bytes, seq: int, flags: int = NLM_F_REQUEST) -> bytes:
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + body


def configure(sock: socket.socket, queue: int) -> None:
    """Bind the queue, ask for packet metadata only, and wait for the kernel to acknowledge each."""
    requests = [
        attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, socket.AF_UNSPEC)),
        attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)),
        attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN)),
        attr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN))
        + attr(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN)),
    ]
    for seq, attrs in enumerate(requests, 1):
        sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, seq, NLM_F_REQUEST | NLM_F_ACK))
        data = sock.recv(65536)
        length, kind = struct.unpack_from("=IH", data)
        if kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", data, 16)
            if error:
                sys.exit(f"delayer: configuring queue {queue} failed: {os.strerror(-error)}")


def packet_ids(data: bytes):
    """The ids of the queued packets in one read of the socket (several netlink messages)."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            return
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            at, end = offset + 20, offset + length  # the netlink header, then nfgenmsg
            while at + 4 <= end:
                alen, atype = struct.unpack_from("=HH", data, at)
                if alen < 4:
                    break
                if atype & 0x7FFF == NFQA_PACKET_HDR:
                    yield struct.unpack_from("!I", data, at + 4)[0]
                at += (alen + 3) & ~3
        offset += (length + 3) & ~3


def main() -> None:
    queue, delay, jitter, reorder, seed = (int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]),
                                           float(sys.argv[4]), sys.argv[5])
    rng = random.Random(seed)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    sock.bind((0, 0))
    configure(sock, queue)
    stopping = []
    wake_r, wake_w = socket.socketpair()  # a signal wakes the select (which PEP 475 would otherwise resume)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(1))
    print("bound", flush=True)
    held: list[tuple[float, int, int]] = []  # (when it goes, arrival order, packet id)
    order = 0
    seq = 100
    while True:
        now = time.monotonic()
        due = []
        while held and (held[0][0] <= now or stopping):
            due.append(heapq.heappop(held)[2])
        if due:
            seq += 1
            sock.send(b"".join(message(NFQNL_MSG_VERDICT, queue, attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, i)),
                                       seq) for i in due))
        if stopping:
            return
        wait = max(0.0, held[0][0] - time.monotonic()) if held else None
        try:
            ready, _, _ = select.select([sock, wake_r], [], [], wait)
        except InterruptedError:
            continue
        if sock not in ready:
            continue
        data = sock.recv(1 << 20)
        now = time.monotonic()
        for pid in packet_ids(data):
            order += 1
            if reorder and rng.random() * 100 < reorder:
                hold = 0.0
            else:
                hold = max(0.0, delay + (rng.uniform(-jitter, jitter) if jitter else 0.0)) / 1000
            heapq.heappush(held, (now + hold, order, pid))


if __name__ == "__main__":
    main()
