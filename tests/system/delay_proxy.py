"""A user-space delay proxy (this kernel has no netem): every byte it forwards, each way,
waits DELAY seconds first. Run inside a namespace with `ip netns exec`.
    python3 delay_proxy.py LISTEN_ADDR LISTEN_PORT TO_ADDR TO_PORT DELAY_S"""
import socket
import sys
import threading
import time


def pump(src, dst, delay):
    try:
        while True:
            data = src.recv(65536)
            arrived = time.monotonic()
            if not data:
                break
            time.sleep(max(0.0, arrived + delay - time.monotonic()))
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    addr, port, to_addr, to_port, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        int(sys.argv[4]), float(sys.argv[5])
    srv = socket.create_server((addr, port), reuse_port=False)
    print("ready", flush=True)
    while True:
        client, _ = srv.accept()
        try:
            upstream = socket.create_connection((to_addr, to_port), timeout=5)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=(a, b, delay), daemon=True).start()


if __name__ == "__main__":
    main()
