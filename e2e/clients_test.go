//go:build e2e

package e2e

// The real clients (crane, regctl, skopeo), each with a private HOME and configuration, logged in to one emulator,
// and image building in regctl OCI layouts with random layers.

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clients runs crane, regctl and skopeo against one emulator, as user admin, over plain HTTP.
type clients struct {
	e    *emulator
	home string
	env  []string
	seq  atomic.Int64
}

// newClients prepares a private HOME in dir, logs crane and regctl in and writes skopeo's auth file.
func newClients(t *testing.T, e *emulator, dir string) *clients {
	t.Helper()
	c := &clients{e: e, home: dir}
	c.env = isolatedEnv(t, dir)
	c.run(t, "crane", "auth", "login", e.host, "-u", "admin", "-p", e.token, "--insecure")
	c.run(t, "regctl", "registry", "set", "--tls", "disabled", "--skip-check", e.host) // the check pings without credentials
	c.run(t, "regctl", "registry", "login", e.host, "-u", "admin", "-p", e.token)
	auth := map[string]any{"auths": map[string]any{e.host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte("admin:" + e.token))}}}
	b, _ := json.Marshal(auth)
	if err := os.WriteFile(filepath.Join(dir, "auth.json"), b, 0o600); err != nil { // REGISTRY_AUTH_FILE, for skopeo
		t.Fatal(err)
	}
	return c
}

// try runs a client and returns its output; regctl is asked to log errors only.
func (c *clients) try(t *testing.T, name string, args ...string) (string, string, error) {
	t.Helper()
	if name == "regctl" {
		args = append([]string{"-v", "error"}, args...)
	}
	return runCmd(cmdTimeout, c.env, c.home, nil, tool(t, name), args...)
}

// run runs a client and fails the test, naming the command, when it fails.
func (c *clients) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, errOut, err := c.try(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// tempDir is a fresh directory in the clients' HOME, for one pull.
func (c *clients) tempDir(t *testing.T, name string) string {
	t.Helper()
	d := filepath.Join(c.home, "pulls", fmt.Sprintf("%04d-%s", c.seq.Add(1), safeName(name)))
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// ref is a Docker reference to repo/image on the clients' emulator: ":tag" or "@digest".
func (c *clients) ref(repo, image, tagOrDigest string) string {
	sep := ":"
	if strings.HasPrefix(tagOrDigest, "sha256:") {
		sep = "@"
	}
	return c.e.host + "/" + repo + "/" + image + sep + tagOrDigest
}

// digestOf asks crane for the digest of a reference on the registry.
func (c *clients) digestOf(t *testing.T, ref string) string {
	t.Helper()
	return strings.TrimSpace(c.run(t, "crane", "digest", ref, "--insecure"))
}

// writeLayerTar writes a tar holding one file of random bytes (the clients gzip it into a real tar+gzip layer).
func writeLayerTar(t *testing.T, path, name string, size int) {
	t.Helper()
	content := randomBytes(t, size)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// layout is a regctl OCI layout (ocidir://) where a scenario builds its images before pushing them.
type layout struct {
	c   *clients
	dir string
	ref string // ocidir://<dir>
}

func (c *clients) newLayout(t *testing.T, name string) *layout {
	t.Helper()
	dir := filepath.Join(c.home, "layouts", name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	return &layout{c: c, dir: dir, ref: "ocidir://" + dir}
}

func (l *layout) tag(tag string) string { return l.ref + ":" + tag }

// digest is the digest of a tag of the layout.
func (l *layout) digest(t *testing.T, tag string) string {
	t.Helper()
	return strings.TrimSpace(l.c.run(t, "regctl", "image", "digest", l.tag(tag)))
}

// image builds, as tag, an OCI image with one layer of random bytes; platform "" leaves the platform out (as for
// an attestation manifest). It returns the image's digest.
func (l *layout) image(t *testing.T, tag, platform string) string {
	t.Helper()
	tarPath := filepath.Join(l.dir+"-layers", tag+".tar")
	if err := os.MkdirAll(filepath.Dir(tarPath), 0o755); err != nil {
		t.Fatal(err)
	}
	writeLayerTar(t, tarPath, "data/"+tag+".bin", 2048+int(randomBytes(t, 1)[0])*16)
	args := []string{"image", "create", l.tag(tag)}
	if platform != "" {
		args = append(args, "--platform", platform)
	}
	l.c.run(t, "regctl", args...)
	l.c.run(t, "regctl", "image", "mod", l.tag(tag), "--replace", "--layer-add", "tar="+tarPath)
	return l.digest(t, tag)
}

// index builds, as tag, an index of other tags of the layout (mediaType "" for an OCI index) and returns its digest.
func (l *layout) index(t *testing.T, tag, mediaType string, tags ...string) string {
	t.Helper()
	args := []string{"index", "create", l.tag(tag)}
	if mediaType != "" {
		args = append(args, "--media-type", mediaType)
	}
	for _, x := range tags {
		args = append(args, "--ref", l.tag(x))
	}
	l.c.run(t, "regctl", args...)
	return l.digest(t, tag)
}

// multiArch builds name-<arch> images for each arch and, with attest, a buildx-style attestation manifest for each
// (an entry of platform unknown/unknown annotated vnd.docker.reference.type=attestation-manifest and
// vnd.docker.reference.digest=<its image>), then the index name of them all. It returns the index's digest and the
// digests of its entries by role: "<arch>" and "att-<arch>".
func (l *layout) multiArch(t *testing.T, name string, arches []string, attest bool) (string, map[string]string) {
	t.Helper()
	kids := map[string]string{}
	var tags []string
	for _, a := range arches {
		kids[a] = l.image(t, name+"-"+a, "linux/"+a)
		tags = append(tags, name+"-"+a)
	}
	l.index(t, name, "", tags...)
	if attest {
		for _, a := range arches {
			att := name + "-att-" + a
			kids["att-"+a] = l.image(t, att, "")
			l.c.run(t, "regctl", "index", "add", l.tag(name), "--ref", l.tag(att),
				"--desc-annotation", "vnd.docker.reference.type=attestation-manifest",
				"--desc-annotation", "vnd.docker.reference.digest="+kids[a],
				"--desc-platform", "unknown/unknown")
		}
	}
	return l.digest(t, name), kids
}

// dockerList builds Docker schema2 images for each arch (converted by regctl) and a Docker manifest list of them.
func (l *layout) dockerList(t *testing.T, name string, arches []string) (string, map[string]string) {
	t.Helper()
	kids := map[string]string{}
	var tags []string
	for _, a := range arches {
		oci := name + "-oci-" + a
		l.image(t, oci, "linux/"+a)
		l.c.run(t, "regctl", "image", "mod", l.tag(oci), "--to-docker", "--create", name+"-"+a)
		kids[a] = l.digest(t, name+"-"+a)
		tags = append(tags, name+"-"+a)
	}
	return l.index(t, name, mediaTypeDockerList, tags...), kids
}

const (
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
)
