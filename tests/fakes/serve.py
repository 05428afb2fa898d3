"""What the fake servers share: they listen on 127.0.0.1 on a port the
kernel picks, write that port to a file for the test (renamed into place:
the test never reads half a number), and end by themselves after a
lifetime, so that a test that died leaves no server behind; one method
of their request handler serves every HTTP method."""
import os
import threading


def serve(srv, port_file, lifetime):
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, port_file)
    threading.Timer(lifetime, lambda: os._exit(0)).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


class EveryMethod:
    """A request handler mix-in: GET, POST, PUT, PATCH and DELETE all go to
    self.on_request(method)."""

    def do_any(self):
        self.on_request(self.command)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_any
