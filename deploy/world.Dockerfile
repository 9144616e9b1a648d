# The GSP world image: one static `gsp` binary and the mods, nothing else.
#
# Built by deploy/build-image, which compiles a static `gsp` and hands this
# file a small build context holding only `gsp` and `mods/` (see
# deploy/README.md). There is no shell, libc or package manager inside: the
# binary needs none of them.
FROM scratch

COPY gsp /gsp
COPY mods /mods

ENV GSP_MODS=/mods \
    GSP_DATA=/data

# The world's saves (gsp.db) and its QUIC certificate: mount a volume or a
# host directory here (`-v ...:/data`) so they outlive the container.
WORKDIR /data

# telnet, QUIC (UDP) and HTTP (/health, /status, /metrics). The world binds
# them on 0.0.0.0 when GSP_TELNET, GSP_QUIC and GSP_HTTP say so; the docker
# runtime sets all three.
ENV GSP_TELNET=0.0.0.0:4000 \
    GSP_QUIC=0.0.0.0:4433 \
    GSP_HTTP=0.0.0.0:4080
EXPOSE 4000/tcp 4433/udp 4080/tcp

# `docker stop` sends SIGTERM: the world saves and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/gsp"]
CMD ["world"]
