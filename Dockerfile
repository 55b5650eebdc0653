# syntax=docker/dockerfile:1
#
# Vitals as a container: a static binary on Alpine, run as an unprivileged
# user. docker-compose.yml builds it; docs/deploy.md explains the stack.
#
#   docker build -t vitals:local .
#   docker run --rm -p 127.0.0.1:8080:8080 vitals:local serve --addr 0.0.0.0:8080 --data-dir /data

FROM golang:1.26-alpine AS build
WORKDIR /src
# Dependencies first, so source edits reuse the module cache layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOFLAGS=-trimpath go build -ldflags="-s -w" -o /out/vitals ./cmd/vitals

# Alpine rather than distroless: busybox wget serves the healthcheck.
FROM alpine:3.22
RUN addgroup -S -g 10001 vitals \
 && adduser -S -D -H -u 10001 -G vitals -s /sbin/nologin vitals \
 && mkdir /data \
 && chown vitals:vitals /data
COPY --from=build /out/vitals /usr/local/bin/vitals
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/livez || exit 1
ENTRYPOINT ["vitals"]
CMD ["serve", "--addr=0.0.0.0:8080", "--data-dir=/data"]
