#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (a minimal WebSocket client,
standard library only) for the live-view tests: opens URL, and for each STEP waits
until the page's JavaScript expression holds, then writes the rendered DOM (and,
for a step ending in .png, a screenshot) to the given file.

usage: live_browser.py CHROMIUM URL PROFILE_DIR [--size WxH] [--wait S] EXPR=FILE ...

Each EXPR is evaluated in the page every 0.2 s until it is true (S seconds at most,
default 60: then exit 1 naming it). Exit 0 when every step was written. Console errors and
uncaught exceptions of the page are printed and make the exit status 2."""
import base64, json, os, re, socket, struct, subprocess, sys, threading, time, urllib.request

def ws_connect(url):
    m = re.match(r"ws://([^:/]+):(\d+)(/.*)", url)
    host, port, path = m.group(1), int(m.group(2)), m.group(3)
    s = socket.create_connection((host, port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise SystemExit("websocket handshake refused: " + head.decode(errors="replace"))
    return s

def ws_send(s, text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                           bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                           bytes([0x80 | 127]) + struct.pack(">Q", n))
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise SystemExit("devtools connection closed")
        buf += chunk
    return buf

def ws_recv(s):
    msg = b""
    while True:
        b0, b1 = recv_exact(s, 2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", recv_exact(s, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", recv_exact(s, 8))[0]
        msg += recv_exact(s, n)
        if b0 & 0x80:
            return msg.decode()

class Page:
    def __init__(self, sock):
        self.s, self.next_id, self.errors = sock, 0, []
    def call(self, method, **params):
        self.next_id += 1
        ws_send(self.s, json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            m = json.loads(ws_recv(self.s))
            if m.get("method") == "Runtime.exceptionThrown":
                self.errors.append(json.dumps(m["params"]["exceptionDetails"])[:400])
            elif m.get("method") == "Runtime.consoleAPICalled" and m["params"]["type"] == "error":
                self.errors.append(json.dumps(m["params"]["args"])[:400])
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise SystemExit(f"{method}: {m['error']}")
                return m["result"]
    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r["result"].get("value")

def main():
    args = sys.argv[1:]
    size = "1200x900"
    if "--size" in args:
        i = args.index("--size")
        size = args[i + 1]
        del args[i:i + 2]
    wait = 60.0
    if "--wait" in args:
        i = args.index("--wait")
        wait = float(args[i + 1])
        del args[i:i + 2]
    browser, url, profile, steps = args[0], args[1], args[2], args[3:]
    w, h = size.split("x")
    proc = subprocess.Popen([browser, "--headless", "--no-sandbox", "--disable-gpu",
                             "--disable-quic", "--no-first-run", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                             f"--window-size={w},{h}", f"--user-data-dir={profile}",
                             "--remote-debugging-port=0", "about:blank"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            line = proc.stderr.readline()
            if not line:
                raise SystemExit("chromium exited before its DevTools port was known")
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            port = m and int(m.group(1))
        # Chromium keeps logging on stderr: drain it, or a full pipe would stall it.
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        ws = [t for t in targets if t.get("type") == "page"][0]["webSocketDebuggerUrl"]
        page = Page(ws_connect(ws))
        page.call("Runtime.enable")
        page.call("Page.enable")
        page.call("Page.navigate", url=url)
        for step in steps:
            expr, out = step.rsplit("=", 1)
            until = time.time() + wait
            # The check and the dump in one evaluation: the DOM written is the one
            # that met the condition, whatever events arrive meanwhile.
            probe = ("(() => { let ok = false; try { ok = !!(" + expr + "); } catch (e) {} "
                     "return ok ? document.documentElement.outerHTML : null; })()")
            while (dom := page.eval(probe)) is None:
                if time.time() > until:
                    print(f"timed out waiting for: {expr}", file=sys.stderr)
                    open(out + ".timeout.html", "w").write(
                        page.eval("document.documentElement.outerHTML") or "")
                    sys.exit(1)
                time.sleep(0.2)
            if out.endswith(".png"):
                shot = page.call("Page.captureScreenshot", format="png")
                open(out, "wb").write(base64.b64decode(shot["data"]))
            else:
                open(out, "w").write(dom)
            print(f"{out}: written", file=sys.stderr)
        if page.errors:
            print("page errors:\n" + "\n".join(page.errors), file=sys.stderr)
            sys.exit(2)
    finally:
        proc.kill()
        proc.wait()

main()
