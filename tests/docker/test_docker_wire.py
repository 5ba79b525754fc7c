"""The engine's HTTP answers as the socket transport reads them, from canned bytes (no engine needed): the
three ways a body ends, and reads by line and by exact size across chunk boundaries, as the event stream and the
multiplexed log stream are read."""

from __future__ import annotations

import socket
import threading

import pytest

from drmaa2cli.backends.docker.http import Reply, SocketTransport


def _reply(raw: bytes) -> Reply:
    ours, theirs = socket.socketpair()
    theirs.sendall(raw)
    theirs.close()
    return Reply(ours)


def test_content_length_body() -> None:
    reply = _reply(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"
                   b'{"Id": "ab"}extra')
    assert reply.status == 200 and reply.read() == b'{"Id": "ab"}'
    assert reply.read() == b""
    reply.close()


def test_chunked_stream_by_lines_and_by_exact_sizes() -> None:
    events = b'{"status":"start"}\n{"status":"die"}\n'
    frames = b"\x01\x00\x00\x00\x00\x00\x00\x03out" + b"\x02\x00\x00\x00\x00\x00\x00\x04err\n"
    body = events + frames
    pieces = [body[:5], body[5:30], body[30:41], body[41:]]  # boundaries inside lines and inside frames
    chunked = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nTrailer: x\r\n\r\n"
    reply = _reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
    assert reply.readline() == b'{"status":"start"}\n'
    assert reply.readline() == b'{"status":"die"}\n'
    assert reply.read(8) == b"\x01\x00\x00\x00\x00\x00\x00\x03" and reply.read(3) == b"out"
    assert reply.read(8) == b"\x02\x00\x00\x00\x00\x00\x00\x04" and reply.read(4) == b"err\n"
    assert reply.read(8) == b"" and reply.readline() == b""


def test_body_until_the_connection_ends_and_bodiless_answers() -> None:
    reply = _reply(b"HTTP/1.0 500 Internal Server Error\r\n\r\nline one\nline two")
    assert reply.status == 500 and reply.readline() == b"line one\n" and reply.read() == b"line two"
    assert _reply(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").read() == b""


def test_an_answer_that_is_not_http_is_a_connection_error() -> None:
    with pytest.raises(ConnectionError):
        _reply(b"SSH-2.0-OpenSSH_9.2\r\n")


def test_the_request_as_sent() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    seen: list[bytes] = []

    def answer() -> None:
        conn, _ = server.accept()
        data = b""
        while b"\r\n\r\n" not in data or not data.endswith(b"{}"):
            data += conn.recv(4096)
        seen.append(data)
        conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
        conn.close()

    thread = threading.Thread(target=answer)
    thread.start()
    port = server.getsockname()[1]
    status, body = SocketTransport(f"tcp://127.0.0.1:{port}").request(
        "POST", "/v1.41/containers/create?name=x", b"{}", {"Content-Type": "application/json"}, 5.0)
    thread.join(5)
    server.close()
    assert status == 201 and body.read() == b"ok"
    head, _, sent_body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1.41/containers/create?name=x HTTP/1.1"
    assert {b"Host: 127.0.0.1:%d" % port, b"Content-Type: application/json", b"Content-Length: 2"} <= set(lines)
    assert sent_body == b"{}"
