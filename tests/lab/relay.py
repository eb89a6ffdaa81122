#!/usr/bin/env python3
"""TCP relay with a fixed one-way delay, for the fleetwatch lab (stdlib only).

    relay.py [--pidfile FILE] LISTEN_ADDR:PORT TARGET_ADDR:PORT DELAY_MS

Every connection accepted on LISTEN is forwarded to TARGET, both directions.
Each chunk read from one side is written to the other side DELAY_MS after it
was read, in order, so a round trip through the relay takes 2 * DELAY_MS
longer. End of stream (or an error) on either side is passed on after the same
delay, then both connections are closed. At most MAX_QUEUED chunks of CHUNK
bytes per direction wait for delivery; beyond that the relay stops reading, so
TCP flow control slows the sender down instead of the relay's memory growing.

Only addresses in 127.0.0.0/8 are accepted, for both ends.
The pid file (if asked for) is written once the relay listens, so a caller can
wait for it; it is removed when the relay stops (SIGTERM or SIGINT).
"""

import argparse
import asyncio
import ipaddress
import os
import signal
import socket
import sys
import time

CHUNK = 16 * 1024
MAX_QUEUED = 64  # per direction: 64 x 16 KiB = 1 MiB read but not yet delivered
CONNECT_TIMEOUT = 10.0
GRACE = 1.0  # after one side's end of stream, how long the other may still send
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def endpoint(text):
    """ADDR:PORT with ADDR a literal IPv4 address in 127.0.0.0/8."""
    addr, sep, port = text.rpartition(":")
    if not sep or not addr:
        raise argparse.ArgumentTypeError(f"{text!r}: expected ADDR:PORT, e.g. 127.0.0.40:16509")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: {addr!r} is not an IP address (names are not accepted: only 127.0.0.0/8)"
        ) from None
    if ip.version != 4 or ip not in LOOPBACK:
        raise argparse.ArgumentTypeError(f"{text!r}: refusing {addr}: only addresses in 127.0.0.0/8 are allowed")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: port must be 1..65535")
    return str(ip), int(port)


def delay_ms(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: DELAY_MS must be a number of milliseconds") from None
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"{text!r}: DELAY_MS must be 0..60000")
    return value


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} relay[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


def nodelay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


class Relay:
    def __init__(self, listen, target, delay):
        self.listen, self.target, self.delay = listen, target, delay / 1000.0
        self.connections = set()

    async def read_side(self, reader, queue, counter):
        """Read chunks and queue them with their delivery time; b"" marks the end
        of stream, None a read error (e.g. a reset), both delayed like data."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await reader.read(CHUNK)
                await queue.put((loop.time() + self.delay, data))
                if not data:
                    return
                counter[0] += len(data)
        except OSError:
            await queue.put((loop.time() + self.delay, None))

    async def direction(self, reader, writer, counter):
        """One direction: deliver each chunk when due. Returns "eof" or "error"."""
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue(MAX_QUEUED)
        reading = asyncio.create_task(self.read_side(reader, queue, counter))
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    return "error"
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return "eof"
                writer.write(data)
                await writer.drain()
        except OSError:
            return "error"
        finally:
            reading.cancel()

    async def handle(self, c_reader, c_writer):
        peer = c_writer.get_extra_info("peername")
        peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        task = asyncio.current_task()
        self.connections.add(task)
        t_writer = None
        try:
            try:
                t_reader, t_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), CONNECT_TIMEOUT)
            except (OSError, asyncio.TimeoutError) as e:
                log(f"{peer}: cannot connect to {self.target[0]}:{self.target[1]}: {e or 'timeout'}")
                await asyncio.sleep(2 * self.delay)  # a far refusal takes a round trip too
                return
            nodelay(c_writer)
            nodelay(t_writer)
            up, down = [0], [0]
            log(f"{peer}: connected to {self.target[0]}:{self.target[1]}")
            both = [
                asyncio.create_task(self.direction(c_reader, t_writer, up)),
                asyncio.create_task(self.direction(t_reader, c_writer, down)),
            ]
            try:
                # Either side closing (after its delay) closes both: at once after
                # an error, after a short grace period after an end of stream.
                done, pending = await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
                if pending and all(t.result() == "eof" for t in done):
                    await asyncio.wait(pending, timeout=GRACE + 2 * self.delay)
            finally:
                for t in both:
                    t.cancel()
            log(f"{peer}: closed ({up[0]} bytes up, {down[0]} bytes down)")
        finally:
            for w in (c_writer, t_writer):
                if w is not None:
                    w.close()
            for w in (c_writer, t_writer):
                if w is not None:
                    try:
                        await w.wait_closed()
                    except (OSError, asyncio.CancelledError):
                        pass
            self.connections.discard(task)

    async def run(self, pidfile):
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        server = await asyncio.start_server(self.handle, *self.listen, reuse_address=True, backlog=128)
        log(
            f"listening on {self.listen[0]}:{self.listen[1]} -> {self.target[0]}:{self.target[1]}, "
            f"+{self.delay * 1000:g} ms each way"
        )
        if pidfile:
            tmp = f"{pidfile}.tmp"
            with open(tmp, "w") as f:
                f.write(f"{os.getpid()}\n")
            os.replace(tmp, pidfile)
        try:
            await stop.wait()
        finally:
            server.close()
            for t in list(self.connections):
                t.cancel()
            await asyncio.gather(*self.connections, return_exceptions=True)
            if pidfile:
                try:
                    os.unlink(pidfile)
                except FileNotFoundError:
                    pass
            log("stopped")


def main():
    p = argparse.ArgumentParser(description="TCP relay adding DELAY_MS to each direction (127.0.0.0/8 only).")
    p.add_argument("--pidfile", help="write the pid here once listening; removed on exit")
    p.add_argument("listen", metavar="LISTEN_ADDR:PORT", type=endpoint)
    p.add_argument("target", metavar="TARGET_ADDR:PORT", type=endpoint)
    p.add_argument("delay", metavar="DELAY_MS", type=delay_ms)
    args = p.parse_args()
    try:
        asyncio.run(Relay(args.listen, args.target, args.delay).run(args.pidfile))
    except OSError as e:
        print(f"relay.py: cannot listen on {args.listen[0]}:{args.listen[1]}: {e.strerror or e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
