"""The engine's HTTP answers as the socket transport reads them, from canned bytes (no engine needed): the
three ways a body ends, and reads by line and by exact size across chunk boundaries, as the event stream and the
multiplexed log stream are read."""

from __future__ import annotations

import itertools
import socket
import threading

import pytest

from drmaa2cli.backends.docker.http import Reply, SocketTransport, demultiplex


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


def _frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


class _Pieces:
    """A body that arrives in the given pieces, one per read (as a socket gives what has arrived)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def read_some(self, n: int) -> bytes:
        assert n > 0
        return self.pieces.pop(0) if self.pieces else b""


def test_log_stream_demultiplexed_across_reads() -> None:
    frames = [(1, b"a\n"), (1, b"bb\n"), (2, b"oops\n"), (1, b""), (1, b"c" * 300 + b"\n"), (2, b"x\n")]
    wire = b"".join(_frame(s, p) for s, p in frames)
    # Cut inside a header, inside a payload, and at frame boundaries.
    cuts = [0, 3, 12, 13, 30, 200, len(wire)]
    blocks = list(demultiplex(_Pieces([wire[a:b] for a, b in itertools.pairwise(cuts)])))
    by_stream: dict[int, bytes] = {}
    for stream, data in blocks:
        by_stream[stream] = by_stream.get(stream, b"") + data
    assert by_stream == {1: b"a\nbb\n" + b"c" * 300 + b"\n", 2: b"oops\nx\n"}
    # In the engine's order: a block never holds two streams, and stdout's first lines come before stderr's.
    assert blocks[0] == (1, b"a\n") and [s for s, _ in blocks][-1] == 2
    # Consecutive frames of one stream that arrived together are one block.
    assert list(demultiplex(_Pieces([wire[:24]]))) == [(1, b"a\nbb\n")]


def test_log_stream_cut_short_gives_what_it_holds() -> None:
    wire = _frame(1, b"whole\n") + _frame(2, b"half of it")[:12]
    assert list(demultiplex(_Pieces([wire]))) == [(1, b"whole\n"), (2, b"half")]


def test_read_some_gives_what_has_arrived() -> None:
    reply = _reply(b"HTTP/1.0 200 OK\r\n\r\n" + b"abc\ndefgh")
    assert reply.readline() == b"abc\n"
    assert reply.read_some(3) == b"def" and reply.read_some(100) == b"gh" and reply.read_some(100) == b""


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


def test_an_unchunked_request_is_sent_as_http_1_0() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    seen: list[bytes] = []

    def answer() -> None:
        conn, _ = server.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        seen.append(data)
        conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + _frame(1, b"log\n"))
        conn.close()

    thread = threading.Thread(target=answer)
    thread.start()
    port = server.getsockname()[1]
    status, body = SocketTransport(f"tcp://127.0.0.1:{port}").request(
        "GET", "/v1.41/containers/x/logs?stdout=1", None, {}, 5.0, unchunked=True)
    thread.join(5)
    server.close()
    assert seen[0].split(b"\r\n")[0] == b"GET /v1.41/containers/x/logs?stdout=1 HTTP/1.0"
    assert status == 200 and list(demultiplex(body)) == [(1, b"log\n")]
