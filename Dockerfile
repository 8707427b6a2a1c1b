# artprune's container image: the static binary that `make build` made, the CA certificates, nothing else (no
# shell, no package manager), run as a non-root user. The binary is built outside, as goreleaser does, so the build
# needs no base image and no network:
#   make image            # docker, or podman (podman --storage-driver vfs build --isolation chroot)
#   make image-check      # builds it and checks its configuration and files (scripts/check-image.sh)
# The build context is bin/image/, which make image fills with artprune and ca-certificates.crt.
# cmd/artprune/deploy_test.go checks this file's structure.
FROM scratch
ARG VERSION=devel
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="artprune" \
      org.opencontainers.image.description="Removes dangling Docker/OCI manifests from JFrog Artifactory" \
      org.opencontainers.image.source="https://github.com/artprune/artprune" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY artprune /usr/local/bin/artprune
# A numeric user, so that Kubernetes' runAsNonRoot can verify it (65532 is distroless's "nonroot").
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/artprune"]
CMD ["--help"]
