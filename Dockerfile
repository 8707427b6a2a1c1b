# artprune: a small static image that runs as a non-root user.
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse --short HEAD) -t artprune .
# (make image does this.) cmd/artprune/deploy_test.go checks this file's structure.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/artprune ./cmd/artprune

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/artprune /usr/local/bin/artprune
# distroless's nonroot user, by number so that runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/artprune"]
CMD ["--help"]
