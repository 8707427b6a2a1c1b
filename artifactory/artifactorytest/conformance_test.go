package artifactorytest

// Conformance of the emulator's Docker Registry V2 API with real, unmodified clients: crane (go-containerregistry),
// regctl (regclient) and skopeo (containers/image). Each client's subtest is skipped when its binary is missing, so
// `go test` passes without them; CI installs them:
//
//	go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
//	go install github.com/regclient/regclient/cmd/regctl@v0.11.7
//	apt-get install -y skopeo
//
// The clients run with a temporary HOME and configuration directories, so nothing leaks into or out of the user's.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	installCrane  = "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1"
	installRegctl = "go install github.com/regclient/regclient/cmd/regctl@v0.11.7"
	installSkopeo = "apt-get install -y skopeo"

	mediaTypeDockerListV2 = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerV2     = "application/vnd.docker.distribution.manifest.v2+json"
)

// findTool returns the path of a client binary, from PATH or $(go env GOPATH)/bin, or skips the test.
func findTool(t *testing.T, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	for _, d := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Skipf("%s is not on PATH nor in $(go env GOPATH)/bin; install it with: %s", name, install)
	return ""
}

// cli runs one client binary with an isolated environment.
type cli struct {
	t    *testing.T
	bin  string
	env  []string
	home string
}

func newCLI(t *testing.T, name, install string) *cli {
	t.Helper()
	bin := findTool(t, name, install)
	home := t.TempDir()
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME" || k == "DOCKER_CONFIG" || k == "REGISTRY_AUTH_FILE" || k == "DOCKER_HOST",
			strings.HasPrefix(k, "XDG_"), strings.HasPrefix(k, "REGCTL_"), strings.HasPrefix(k, "CONTAINERS_"):
			continue
		}
		env = append(env, kv)
	}
	for _, d := range []string{".docker", ".config", "run", "cache"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	env = append(env,
		"HOME="+home,
		"DOCKER_CONFIG="+filepath.Join(home, ".docker"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"REGISTRY_AUTH_FILE="+filepath.Join(home, "auth.json"),
	)
	return &cli{t: t, bin: bin, env: env, home: home}
}

// try runs the client and returns its standard output.
func (c *cli) try(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env
	cmd.Dir = c.home
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// run runs the client and fails the test, naming the command, when it fails.
func (c *cli) run(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.try(args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", filepath.Base(c.bin), strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// writeLayerTar writes a tar holding one file with these bytes.
func writeLayerTar(t *testing.T, path, name string, content []byte) {
	t.Helper()
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

// storedManifest reads a manifest file of the emulator's store.
func storedManifest(t *testing.T, s *Server, repo, path string) []byte {
	t.Helper()
	it, ok := s.Store().Get(repo, path)
	if !ok || it.Folder {
		t.Fatalf("%s/%s: not in the store", repo, path)
	}
	data, err := s.Store().Content(it)
	if err != nil {
		t.Fatalf("%s/%s: %v", repo, path, err)
	}
	return data
}

// verifyImageLayout checks Artifactory's layout invariants for every folder of an image: exactly one manifest file
// (manifest.json for image manifests, list.manifest.json for indexes), whose properties describe it, and for an image
// manifest exactly its config and layers beside it as sha256__<hex> files with that content. It returns the tag
// folders and the digest folders found.
func verifyImageLayout(t *testing.T, s *Server, repo, image string) (tags, digests []string) {
	t.Helper()
	kids, err := s.Store().Children(repo, image)
	if err != nil {
		t.Fatalf("%s/%s: %v", repo, image, err)
	}
	for _, f := range kids {
		folder := image + "/" + f.Name
		if !f.Folder {
			t.Errorf("%s/%s: a file directly in the image folder", repo, folder)
			continue
		}
		if f.Name == uploadsFolder {
			continue
		}
		files, _ := s.Store().Children(repo, folder)
		var names []string
		for _, x := range files {
			names = append(names, x.Name)
		}
		isList := slices.Contains(names, listFile)
		isImage := slices.Contains(names, manifestFile)
		if isList == isImage {
			t.Errorf("%s/%s: want exactly one of manifest.json and list.manifest.json, have %v", repo, folder, names)
			continue
		}
		mfName := manifestFile
		if isList {
			mfName = listFile
		}
		it, _ := s.Store().Get(repo, folder+"/"+mfName)
		body := storedManifest(t, s, repo, folder+"/"+mfName)
		var doc manifestDoc
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Errorf("%s/%s/%s: %v", repo, folder, mfName, err)
			continue
		}
		dg := digestOf(body)
		wantRef := f.Name
		if strings.HasPrefix(f.Name, digestPrefix) {
			digests = append(digests, f.Name)
			if f.Name != dg {
				t.Errorf("%s/%s: digest folder holds a manifest of digest %s", repo, folder, dg)
			}
			wantRef = dg
		} else {
			tags = append(tags, f.Name)
		}
		for k, v := range map[string]string{"docker.manifest": wantRef, "docker.manifest.digest": dg, "docker.repoName": image,
			"sha256": strings.TrimPrefix(dg, digestPrefix), "docker.manifest.type": doc.MediaType} {
			if got := it.Props[k]; len(got) != 1 || got[0] != v {
				t.Errorf("%s/%s/%s: property %s = %v, want %q", repo, folder, mfName, k, got, v)
			}
		}
		if isList != isIndexType(doc.MediaType) {
			t.Errorf("%s/%s: %s holds a %s", repo, folder, mfName, doc.MediaType)
		}
		want := []string{mfName}
		if isImage {
			for _, d := range append([]v1.Descriptor{*doc.Config}, doc.Layers...) {
				n := blobPrefix + strings.TrimPrefix(string(d.Digest), digestPrefix)
				if !slices.Contains(want, n) {
					want = append(want, n)
				}
				if b, ok := s.Store().Get(repo, folder+"/"+n); ok && "sha256:"+b.SHA256() != string(d.Digest) {
					t.Errorf("%s/%s/%s: holds sha256 %s", repo, folder, n, b.SHA256())
				}
			}
		}
		slices.Sort(want)
		slices.Sort(names)
		if !slices.Equal(names, want) {
			t.Errorf("%s/%s: files %v, want %v", repo, folder, names, want)
		}
	}
	return tags, digests
}

func startConformanceServer(t *testing.T) *Server {
	t.Helper()
	return newDockerServer(t)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("crane", testCrane)
	t.Run("regctl", testRegctl)
	t.Run("regctl-docker-list", testDockerList)
	t.Run("skopeo", testSkopeo)
}

func testCrane(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "crane", installCrane)
	s := startConformanceServer(t)
	host := s.Host()
	c.run("auth", "login", host, "-u", "admin", "-p", s.AdminToken(), "--insecure")

	content := randomBytes(t, 4096)
	layer := filepath.Join(c.home, "layer.tar")
	writeLayerTar(t, layer, "data/random.bin", content)
	ref := host + "/docker-local/crane/app:v1"
	out := c.run("append", "-f", layer, "-t", ref, "--insecure")
	pushed := strings.TrimSpace(out)
	_, dg, ok := strings.Cut(pushed, "@")
	if !ok {
		t.Fatalf("crane append %s printed %q, want a digest reference", ref, out)
	}
	if got := strings.TrimSpace(c.run("digest", ref, "--insecure")); got != dg {
		t.Fatalf("crane digest %s = %s, want %s", ref, got, dg)
	}
	tags, digests := verifyImageLayout(t, s, "docker-local", "crane/app")
	if !slices.Equal(tags, []string{"v1"}) || len(digests) != 0 {
		t.Fatalf("crane/app after crane append: tags %v digest folders %v", tags, digests)
	}
	if got := digestOf(storedManifest(t, s, "docker-local", "crane/app/v1/manifest.json")); got != dg {
		t.Fatalf("docker-local/crane/app/v1/manifest.json has digest %s, want %s", got, dg)
	}
	if it, _ := s.Store().Get("docker-local", "crane/app/v1/manifest.json"); len(it.Props["docker.manifest.type"]) != 1 || it.Props["docker.manifest.type"][0] != mediaTypeDockerV2 {
		t.Fatalf("docker-local/crane/app/v1/manifest.json type %v, want %s", it.Props["docker.manifest.type"], mediaTypeDockerV2)
	}

	// Pull back: the filesystem holds the random file.
	fs := c.run("export", ref, "-", "--insecure")
	tr := tar.NewReader(strings.NewReader(fs))
	found := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("crane export %s: %v", ref, err)
		}
		if strings.TrimPrefix(h.Name, "/") == "data/random.bin" {
			got, _ := io.ReadAll(tr)
			found = bytes.Equal(got, content)
		}
	}
	if !found {
		t.Fatalf("crane export %s: data/random.bin missing or different", ref)
	}
	c.run("pull", ref, filepath.Join(c.home, "img.tar"), "--insecure")

	// Copy to another image of the same repository: blobs are mounted, not uploaded.
	ref2 := host + "/docker-local/crane/copy:v1"
	c.run("copy", ref, ref2, "--insecure")
	verifyImageLayout(t, s, "docker-local", "crane/copy")
	var mf v1.Manifest
	_ = json.Unmarshal(storedManifest(t, s, "docker-local", "crane/copy/v1/manifest.json"), &mf)
	for _, d := range append([]v1.Descriptor{mf.Config}, mf.Layers...) {
		p := "crane/copy/_uploads/sha256__" + strings.TrimPrefix(string(d.Digest), digestPrefix)
		if _, ok := s.Store().Get("docker-local", p); !ok {
			t.Errorf("docker-local/%s: mounted blob missing", p)
		}
	}

	// Tag, list, delete by digest: every tag with that digest goes (the modelled Artifactory semantics).
	c.run("tag", ref, "v2", "--insecure")
	c.run("tag", ref, "keep", "--insecure")
	if got := strings.Fields(c.run("ls", host+"/docker-local/crane/app", "--insecure")); !slices.Equal(got, []string{"keep", "v1", "v2"}) {
		t.Fatalf("crane ls docker-local/crane/app = %v", got)
	}
	if got := strings.Fields(c.run("catalog", host, "--insecure")); !slices.Equal(got, []string{"docker-local/crane/app", "docker-local/crane/copy"}) {
		t.Fatalf("crane catalog = %v", got)
	}
	c.run("delete", host+"/docker-local/crane/app:keep", "--insecure") // by tag: that tag only
	if _, ok := s.Store().Get("docker-local", "crane/app/keep"); ok {
		t.Fatalf("docker-local/crane/app/keep survived crane delete by tag")
	}
	c.run("delete", host+"/docker-local/crane/app@"+dg, "--insecure")
	for _, p := range []string{"crane/app/v1", "crane/app/v2"} {
		if _, ok := s.Store().Get("docker-local", p); ok {
			t.Errorf("docker-local/%s survived crane delete of %s", p, dg)
		}
	}
	if _, _, err := c.try("manifest", ref, "--insecure"); err == nil {
		t.Fatalf("crane manifest %s succeeded after delete", ref)
	}
	if _, ok := s.Store().Get("docker-local", "crane/copy/v1/manifest.json"); !ok {
		t.Fatalf("docker-local/crane/copy/v1 was deleted with crane/app")
	}
}

// regctl helpers.

func regctlDigest(t *testing.T, c *cli, ref string) string {
	t.Helper()
	return strings.TrimSpace(c.run("image", "digest", ref))
}

func regctlRaw(t *testing.T, c *cli, ref string) []byte {
	t.Helper()
	return []byte(c.run("manifest", "get", ref, "--format", "raw-body"))
}

func newRegctl(t *testing.T, s *Server) *cli {
	t.Helper()
	c := newCLI(t, "regctl", installRegctl)
	c.run("registry", "set", "--tls", "disabled", "--skip-check", s.Host()) // the check pings without credentials

	c.run("registry", "login", s.Host(), "-u", "admin", "-p", s.AdminToken())
	return c
}

// buildOCIIndex builds, in an OCI layout, two platform images with random layers and an attestation manifest, and
// an index of them tagged "multi". It returns the layout's reference prefix.
func buildOCIIndex(t *testing.T, c *cli) string {
	t.Helper()
	oci := "ocidir://" + filepath.Join(c.home, "build")
	for _, p := range []string{"amd64", "arm64", "att"} {
		tarPath := filepath.Join(c.home, p+".tar")
		writeLayerTar(t, tarPath, p+".bin", randomBytes(t, 2048))
		if p == "att" {
			c.run("image", "create", oci+":"+p)
		} else {
			c.run("image", "create", oci+":"+p, "--platform", "linux/"+p)
		}
		c.run("image", "mod", oci+":"+p, "--replace", "--layer-add", "tar="+tarPath)
	}
	amd := regctlDigest(t, c, oci+":amd64")
	c.run("index", "create", oci+":multi", "--ref", oci+":amd64", "--ref", oci+":arm64")
	c.run("index", "add", oci+":multi", "--ref", oci+":att",
		"--desc-annotation", "vnd.docker.reference.type=attestation-manifest",
		"--desc-annotation", "vnd.docker.reference.digest="+amd,
		"--desc-platform", "unknown/unknown")
	return oci
}

func testRegctl(t *testing.T) {
	t.Parallel()
	s := startConformanceServer(t)
	c := newRegctl(t, s)
	host := s.Host()
	oci := buildOCIIndex(t, c)
	idxBody := regctlRaw(t, c, oci+":multi")
	var idx v1.Index
	if err := json.Unmarshal(idxBody, &idx); err != nil || len(idx.Manifests) != 3 {
		t.Fatalf("index built in %s: %s (%v)", oci, idxBody, err)
	}
	idxDigest := digestOf(idxBody)

	// Push by tag: the children go by digest first, then the index.
	ref := host + "/docker-local/multi:v1"
	c.run("image", "copy", oci+":multi", ref)
	tags, digests := verifyImageLayout(t, s, "docker-local", "multi")
	if !slices.Equal(tags, []string{"v1"}) {
		t.Fatalf("docker-local/multi tags %v, want [v1]", tags)
	}
	var wantDigests []string
	for _, d := range idx.Manifests {
		wantDigests = append(wantDigests, string(d.Digest))
	}
	slices.Sort(wantDigests)
	slices.Sort(digests)
	if !slices.Equal(digests, wantDigests) {
		t.Fatalf("docker-local/multi digest folders %v, want %v", digests, wantDigests)
	}
	if got := storedManifest(t, s, "docker-local", "multi/v1/list.manifest.json"); !bytes.Equal(got, idxBody) {
		t.Fatalf("docker-local/multi/v1/list.manifest.json differs from the pushed index")
	}
	if got := regctlDigest(t, c, ref); got != idxDigest {
		t.Fatalf("regctl image digest %s = %s, want %s", ref, got, idxDigest)
	}
	// Pull back into an OCI layout: same index digest, every child present.
	back := "ocidir://" + filepath.Join(c.home, "back")
	c.run("image", "copy", ref, back+":v1")
	if got := regctlDigest(t, c, back+":v1"); got != idxDigest {
		t.Fatalf("copy of %s into %s has digest %s, want %s", ref, back, got, idxDigest)
	}
	for _, d := range idx.Manifests {
		c.run("manifest", "get", back+"@"+string(d.Digest))
	}
	if got := strings.Fields(c.run("tag", "ls", host+"/docker-local/multi")); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("regctl tag ls docker-local/multi = %v", got)
	}

	// A referrer with the referrers API on.
	sbom := filepath.Join(c.home, "sbom.json")
	if err := os.WriteFile(sbom, []byte(`{"spdxVersion":"SPDX-2.3"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run("artifact", "put", "--subject", ref, "--artifact-type", "application/spdx+json", "-f", sbom, "-m", "application/spdx+json",
		"--annotation", "org.example.kind=sbom")
	listReferrers := func(extra ...string) []v1.Descriptor {
		t.Helper()
		out := c.run(append([]string{"artifact", "list", ref, "--format", "raw-body"}, extra...)...)
		var l v1.Index
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("regctl artifact list %s: %q: %v", ref, out, err)
		}
		return l.Manifests
	}
	refs := listReferrers()
	if len(refs) != 1 || refs[0].ArtifactType != "application/spdx+json" || refs[0].Annotations["org.example.kind"] != "sbom" {
		t.Fatalf("referrers of %s (API on): %+v", ref, refs)
	}
	sbomDigest := string(refs[0].Digest)
	var sbomDoc manifestDoc
	_ = json.Unmarshal(storedManifest(t, s, "docker-local", "multi/"+sbomDigest+"/manifest.json"), &sbomDoc)
	if sbomDoc.Subject == nil || string(sbomDoc.Subject.Digest) != idxDigest {
		t.Fatalf("docker-local/multi/%s/manifest.json: subject %+v, want %s", sbomDigest, sbomDoc.Subject, idxDigest)
	}
	if got := listReferrers("--filter-artifact-type", "application/vnd.example.none"); len(got) != 0 {
		t.Fatalf("referrers of %s filtered by an absent type: %+v", ref, got)
	}

	// The referrers API off: regctl falls back to the tag schema sha256-<hex>.
	s.SetReferrersAPI(false)
	sig := filepath.Join(c.home, "sig.json")
	if err := os.WriteFile(sig, []byte(`{"sig":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run("artifact", "put", "--subject", ref, "--artifact-type", "application/vnd.example.sig", "-f", sig)
	fallback := "sha256-" + strings.TrimPrefix(idxDigest, digestPrefix)
	var fb v1.Index
	if err := json.Unmarshal(storedManifest(t, s, "docker-local", "multi/"+fallback+"/list.manifest.json"), &fb); err != nil || len(fb.Manifests) != 1 ||
		fb.Manifests[0].ArtifactType != "application/vnd.example.sig" {
		t.Fatalf("docker-local/multi/%s/list.manifest.json: %+v (%v)", fallback, fb, err)
	}
	refs = listReferrers()
	if len(refs) != 1 || refs[0].ArtifactType != "application/vnd.example.sig" {
		t.Fatalf("referrers of %s (API off, tag fallback): %+v", ref, refs)
	}
	s.SetReferrersAPI(true)
	if refs := listReferrers(); len(refs) != 2 {
		t.Fatalf("referrers of %s (API on again, both stored): %+v", ref, refs)
	}
	verifyImageLayout(t, s, "docker-local", "multi")

	// Delete the index by digest: the tag goes, children and referrers stay.
	c.run("manifest", "rm", host+"/docker-local/multi@"+idxDigest)
	if _, ok := s.Store().Get("docker-local", "multi/v1"); ok {
		t.Fatalf("docker-local/multi/v1 survived regctl manifest rm of %s", idxDigest)
	}
	tags, digests = verifyImageLayout(t, s, "docker-local", "multi")
	for _, d := range wantDigests {
		if !slices.Contains(digests, d) {
			t.Errorf("docker-local/multi/%s was deleted with its index", d)
		}
	}
	if !slices.Equal(tags, []string{fallback}) {
		t.Fatalf("docker-local/multi tags after delete: %v, want [%s]", tags, fallback)
	}
	if _, _, err := c.try("manifest", "head", ref); err == nil {
		t.Fatalf("regctl manifest head %s succeeded after delete", ref)
	}
}

// testDockerList pushes a Docker manifest list (schema2 media types, built by regctl) and reads it with every client.
func testDockerList(t *testing.T) {
	t.Parallel()
	s := startConformanceServer(t)
	c := newRegctl(t, s)
	host := s.Host()
	oci := buildOCIIndex(t, c)
	c.run("image", "mod", oci+":amd64", "--to-docker", "--create", "damd64")
	c.run("image", "mod", oci+":arm64", "--to-docker", "--create", "darm64")
	c.run("index", "create", oci+":dlist", "--media-type", mediaTypeDockerListV2, "--ref", oci+":damd64", "--ref", oci+":darm64")
	body := regctlRaw(t, c, oci+":dlist")
	var list v1.Index
	if err := json.Unmarshal(body, &list); err != nil || list.MediaType != mediaTypeDockerListV2 || len(list.Manifests) != 2 {
		t.Fatalf("docker list built in %s: %s", oci, body)
	}
	ref := host + "/docker-local/dlist:v1"
	c.run("image", "copy", oci+":dlist", ref)
	tags, digests := verifyImageLayout(t, s, "docker-local", "dlist")
	if !slices.Equal(tags, []string{"v1"}) || len(digests) != 2 {
		t.Fatalf("docker-local/dlist: tags %v digest folders %v", tags, digests)
	}
	for _, d := range list.Manifests {
		it, _ := s.Store().Get("docker-local", "dlist/"+string(d.Digest)+"/manifest.json")
		if it == nil || it.Props["docker.manifest.type"][0] != mediaTypeDockerV2 {
			t.Fatalf("docker-local/dlist/%s/manifest.json: not a Docker schema2 manifest", d.Digest)
		}
	}
	if got := storedManifest(t, s, "docker-local", "dlist/v1/list.manifest.json"); !bytes.Equal(got, body) {
		t.Fatalf("docker-local/dlist/v1/list.manifest.json differs from the pushed list")
	}
	out := c.run("manifest", "get", ref, "--format", "{{.GetDescriptor.MediaType}}")
	if strings.TrimSpace(out) != mediaTypeDockerListV2 {
		t.Fatalf("regctl manifest get %s: media type %q", ref, out)
	}
	if findToolQuiet("crane") != "" {
		cr := newCLI(t, "crane", installCrane)
		cr.run("auth", "login", host, "-u", "admin", "-p", s.AdminToken(), "--insecure")
		if got := cr.run("manifest", ref, "--insecure"); got != string(body) {
			t.Fatalf("crane manifest %s differs from the pushed list", ref)
		}
		cr.run("pull", "--platform", "linux/arm64", ref, filepath.Join(cr.home, "arm64.tar"), "--insecure")
	}
	if findToolQuiet("skopeo") != "" {
		sk := newCLI(t, "skopeo", installSkopeo)
		raw := sk.run("inspect", "--raw", "--tls-verify=false", "--creds", "admin:"+s.AdminToken(), "docker://"+ref)
		if raw != string(body) {
			t.Fatalf("skopeo inspect --raw %s differs from the pushed list", ref)
		}
		dir := filepath.Join(sk.home, "oci")
		sk.run("--insecure-policy", "copy", "--all", "--src-tls-verify=false", "--src-creds", "admin:"+s.AdminToken(), "docker://"+ref, "oci:"+dir+":v1")
		if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
			t.Fatalf("skopeo copy %s: %v", ref, err)
		}
	}
}

// findToolQuiet is findTool without skipping.
func findToolQuiet(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	for _, d := range filepath.SplitList(gopath) {
		if st, err := os.Stat(filepath.Join(d, "bin", name)); err == nil && !st.IsDir() {
			return filepath.Join(d, "bin", name)
		}
	}
	return ""
}

func testSkopeo(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "skopeo", installSkopeo)
	s := startConformanceServer(t)
	host := s.Host()
	creds := "admin:" + s.AdminToken()

	// A hand-built OCI index with two platform images, pushed over plain HTTP.
	const name = "docker-local/sk/app"
	a, b := makeImage(t, 2, nil, ""), makeImage(t, 1, nil, "")
	for _, im := range []testImage{a, b} {
		im.pushBlobs(t, s, name)
		expectStatus(t, "child "+im.digest(), putManifest(t, s, name, im.digest(), v1.MediaTypeImageManifest, im.manifest), 201, "")
	}
	idx := makeIndex(v1.MediaTypeImageIndex, a, b)
	expectStatus(t, "index", putManifest(t, s, name, "v1", v1.MediaTypeImageIndex, idx), 201, "")
	ref := "docker://" + host + "/" + name

	raw := c.run("inspect", "--raw", "--tls-verify=false", "--creds", creds, ref+":v1")
	if raw != string(idx) {
		t.Fatalf("skopeo inspect --raw %s:v1 differs from the pushed index", ref)
	}
	var info struct {
		Digest   string
		RepoTags []string
		Layers   []string
		Labels   map[string]string
	}
	out := c.run("--override-os", "linux", "--override-arch", "arm64", "inspect", "--tls-verify=false", "--creds", creds, ref+":v1")
	// skopeo reports the index digest, and the layers of the image it picked from the index (b is the arm64 entry).
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Digest != digestOf(idx) || !slices.Equal(info.Layers, []string{digestOf(b.layers[0])}) ||
		!slices.Equal(info.RepoTags, []string{"v1"}) || info.Labels["org.example.team"] != "infra" {
		t.Fatalf("skopeo inspect %s:v1 (linux/arm64): %s (%v)", ref, out, err)
	}
	if tags := c.run("list-tags", "--tls-verify=false", "--creds", creds, ref); !strings.Contains(tags, `"v1"`) {
		t.Fatalf("skopeo list-tags %s: %s", ref, tags)
	}

	// Copy everything out to an OCI layout, then push it back with skopeo to another image.
	dir := filepath.Join(c.home, "oci")
	c.run("--insecure-policy", "copy", "--all", "--src-tls-verify=false", "--src-creds", creds, ref+":v1", "oci:"+dir+":v1")
	for _, d := range []string{a.digest(), b.digest(), digestOf(a.config), digestOf(a.layers[1]), digestOf(b.layers[0]), digestOf(idx)} {
		if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, digestPrefix))); err != nil {
			t.Errorf("skopeo copy %s:v1 to %s: blob %s missing", ref, dir, d)
		}
	}
	copyRef := "docker://" + host + "/docker-local/sk/copy:v1"
	c.run("--insecure-policy", "copy", "--all", "--dest-tls-verify=false", "--dest-creds", creds, "oci:"+dir+":v1", copyRef)
	tags, digests := verifyImageLayout(t, s, "docker-local", "sk/copy")
	if !slices.Equal(tags, []string{"v1"}) || !slices.Equal(digests, []string{digestPrefix + min(a.hex(), b.hex()), digestPrefix + max(a.hex(), b.hex())}) {
		t.Fatalf("docker-local/sk/copy after skopeo copy: tags %v digest folders %v", tags, digests)
	}
	if got := storedManifest(t, s, "docker-local", "sk/copy/v1/list.manifest.json"); !bytes.Equal(got, idx) {
		t.Fatalf("docker-local/sk/copy/v1/list.manifest.json differs from the source index")
	}

	// skopeo delete of the index by digest removes the index only: its children stay (skopeo #2497).
	c.run("delete", "--tls-verify=false", "--creds", creds, ref+"@"+digestOf(idx))
	if _, ok := s.Store().Get("docker-local", "sk/app/v1"); ok {
		t.Fatalf("docker-local/sk/app/v1 survived skopeo delete of %s", digestOf(idx))
	}
	for _, im := range []testImage{a, b} {
		if _, ok := s.Store().Get("docker-local", "sk/app/"+im.digest()+"/manifest.json"); !ok {
			t.Errorf("docker-local/sk/app/%s/manifest.json was deleted with its index", im.digest())
		}
	}
	verifyImageLayout(t, s, "docker-local", "sk/app")
	if _, _, err := c.try("inspect", "--raw", "--tls-verify=false", "--creds", creds, ref+":v1"); err == nil {
		t.Fatalf("skopeo inspect %s:v1 succeeded after delete", ref)
	}
	// A child is still pullable by digest.
	c.run("inspect", "--raw", "--tls-verify=false", "--creds", creds, ref+"@"+a.digest())
	// Bad credentials are refused.
	if _, errOut, err := c.try("inspect", "--raw", "--tls-verify=false", "--creds", "admin:wrong", ref+"@"+a.digest()); err == nil {
		t.Fatalf("skopeo inspect with bad credentials succeeded")
	} else if !strings.Contains(strings.ToLower(errOut), "unauthorized") && !strings.Contains(errOut, "401") {
		t.Logf("skopeo with bad credentials: %s", errOut)
	}
}
