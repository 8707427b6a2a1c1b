package artifactorytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	godigest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// ---- helpers ----

func newDockerServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{
		WithRepo(Repo{Key: "docker-local", Type: RepoLocal, PackageType: PackageDocker}),
		WithRepo(Repo{Key: "docker-remote", Type: RepoRemote, PackageType: PackageDocker}),
		WithUser(User{Name: "reader", Token: "rt", Perms: []Permission{PermRead}}),
	}, opts...)
	s, err := NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// dreq is a request to the registry; user "" sends no credentials.
type dreq struct {
	method, path string
	body         []byte
	header       map[string]string
	user, pass   string
	bearer       string
}

type dresp struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (r dresp) String() string {
	return fmt.Sprintf("%s %s: %d %s", r.method, r.path, r.status, bytes.TrimSpace(r.body))
}

func (r dresp) errCodes() []string {
	var env struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(r.body, &env)
	var out []string
	for _, e := range env.Errors {
		out = append(out, e.Code)
	}
	return out
}

func do(t *testing.T, s *Server, q dreq) dresp {
	t.Helper()
	req, err := http.NewRequest(q.method, s.URL+q.path, bytes.NewReader(q.body))
	if err != nil {
		t.Fatal(err)
	}
	if q.body == nil {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	for k, v := range q.header {
		req.Header.Set(k, v)
	}
	if q.user != "" {
		req.SetBasicAuth(q.user, q.pass)
	}
	if q.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", q.method, q.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", q.method, q.path, err)
	}
	return dresp{method: q.method, path: q.path, status: resp.StatusCode, header: resp.Header, body: b}
}

// admin sends a request as admin (basic auth with the admin token).
func admin(t *testing.T, s *Server, method, path string, body []byte, header map[string]string) dresp {
	t.Helper()
	return do(t, s, dreq{method: method, path: path, body: body, header: header, user: "admin", pass: DefaultAdminToken})
}

func expectStatus(t *testing.T, what string, r dresp, want int, wantCode string) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: %s, want status %d", what, r, want)
	}
	if wantCode != "" && !slices.Contains(r.errCodes(), wantCode) {
		t.Fatalf("%s: %s: error codes %v, want %s", what, r, r.errCodes(), wantCode)
	}
	if got := r.header.Get("Docker-Distribution-Api-Version"); got != "registry/2.0" && strings.HasPrefix(r.path, "/v2") {
		t.Fatalf("%s: %s %s: Docker-Distribution-Api-Version %q", what, r.method, r.path, got)
	}
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func hexOf(b []byte) string { return strings.TrimPrefix(digestOf(b), "sha256:") }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// pushBlob uploads data monolithically into repo/image and returns its digest.
func pushBlob(t *testing.T, s *Server, name string, data []byte) string {
	t.Helper()
	dg := digestOf(data)
	r := admin(t, s, http.MethodPost, "/v2/"+name+"/blobs/uploads/?digest="+url.QueryEscape(dg), data, map[string]string{"Content-Type": "application/octet-stream"})
	expectStatus(t, "monolithic upload of "+dg, r, http.StatusCreated, "")
	return dg
}

func desc(mt string, data []byte) v1.Descriptor {
	return v1.Descriptor{MediaType: mt, Digest: godigest.Digest(digestOf(data)), Size: int64(len(data))}
}

// testImage is an image manifest with its blobs.
type testImage struct {
	config   []byte
	layers   [][]byte
	manifest []byte
}

func (ti testImage) digest() string { return digestOf(ti.manifest) }
func (ti testImage) hex() string    { return hexOf(ti.manifest) }

// makeImage builds an OCI image manifest with a config (with labels) and n random layers, optionally with a subject.
func makeImage(t *testing.T, layers int, subject *v1.Descriptor, artifactType string) testImage {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Labels": map[string]string{"org.example.team": "infra"}},
		"rootfs": map[string]any{"type": "layers"}, "nonce": hex.EncodeToString(randomBytes(t, 8)),
	})
	ti := testImage{config: cfg}
	m := v1.Manifest{MediaType: v1.MediaTypeImageManifest, Config: desc(v1.MediaTypeImageConfig, cfg), Subject: subject, ArtifactType: artifactType}
	m.SchemaVersion = 2
	m.Layers = []v1.Descriptor{}
	for range layers {
		l := gzipLayer(t, randomBytes(t, 300))
		ti.layers = append(ti.layers, l)
		m.Layers = append(m.Layers, desc(v1.MediaTypeImageLayerGzip, l))
	}
	if subject != nil {
		m.Annotations = map[string]string{"org.example.kind": artifactType}
	}
	ti.manifest, _ = json.Marshal(m)
	return ti
}

// gzipLayer returns a gzipped tar holding one file with content: a real layer, which clients may inspect.
func gzipLayer(t *testing.T, content []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "random.bin", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(content)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (ti testImage) pushBlobs(t *testing.T, s *Server, name string) {
	t.Helper()
	pushBlob(t, s, name, ti.config)
	for _, l := range ti.layers {
		pushBlob(t, s, name, l)
	}
}

func putManifest(t *testing.T, s *Server, name, ref, mt string, body []byte) dresp {
	t.Helper()
	return admin(t, s, http.MethodPut, "/v2/"+name+"/manifests/"+ref, body, map[string]string{"Content-Type": mt})
}

func makeIndex(mt string, children ...testImage) []byte {
	idx := v1.Index{MediaType: mt}
	idx.SchemaVersion = 2
	archs := []string{"amd64", "arm64", "s390x", "ppc64le"}
	for i, c := range children {
		d := desc(v1.MediaTypeImageManifest, c.manifest)
		d.Platform = &v1.Platform{OS: "linux", Architecture: archs[i%len(archs)]}
		idx.Manifests = append(idx.Manifests, d)
	}
	b, _ := json.Marshal(idx)
	return b
}

// layout returns every path under repo/prefix (folders with a trailing slash).
func layout(t *testing.T, s *Server, repo, prefix string) []string {
	t.Helper()
	var out []string
	err := s.Store().Walk(repo, prefix, func(it *Item) bool {
		p := it.FullPath()
		if it.Folder {
			p += "/"
		}
		out = append(out, p)
		return true
	})
	if err != nil {
		t.Fatalf("walk %s/%s: %v", repo, prefix, err)
	}
	slices.Sort(out)
	return out
}

func expectLayout(t *testing.T, s *Server, repo, prefix string, want []string) {
	t.Helper()
	got := layout(t, s, repo, prefix)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		var missing, extra []string
		for _, w := range want {
			if !slices.Contains(got, w) {
				missing = append(missing, w)
			}
		}
		for _, g := range got {
			if !slices.Contains(want, g) {
				extra = append(extra, g)
			}
		}
		t.Fatalf("layout of %s/%s:\n missing %q\n extra %q", repo, prefix, missing, extra)
	}
}

// ---- tests ----

func TestDockerTokenHandshake(t *testing.T) {
	s := newDockerServer(t)
	host := s.Host()

	r := do(t, s, dreq{method: http.MethodGet, path: "/v2/"})
	expectStatus(t, "anonymous", r, http.StatusUnauthorized, "UNAUTHORIZED")
	wantCh := fmt.Sprintf(`Bearer realm="http://%s/artifactory/api/docker/null/v2/token",service="%s"`, host, host)
	if got := r.header.Get("WWW-Authenticate"); got != wantCh {
		t.Fatalf("/v2/ challenge %q, want %q", got, wantCh)
	}

	r = do(t, s, dreq{method: http.MethodGet, path: "/v2/docker-local/team/app/manifests/latest"})
	expectStatus(t, "/v2/docker-local/team/app/manifests/latest anonymous", r, http.StatusUnauthorized, "UNAUTHORIZED")
	wantCh = fmt.Sprintf(`Bearer realm="http://%s/artifactory/api/docker/docker-local/v2/token",service="%s",scope="repository:team/app:pull"`, host, host)
	if got := r.header.Get("WWW-Authenticate"); got != wantCh {
		t.Fatalf("manifest GET challenge %q, want %q", got, wantCh)
	}
	r = do(t, s, dreq{method: http.MethodPost, path: "/v2/docker-local/app/blobs/uploads/"})
	if got := r.header.Get("WWW-Authenticate"); !strings.HasSuffix(got, `scope="repository:app:pull,push"`) {
		t.Fatalf("upload POST challenge %q, want scope pull,push", got)
	}

	// Token endpoint.
	tokPath := "/artifactory/api/docker/docker-local/v2/token?service=" + url.QueryEscape(host) + "&scope=" + url.QueryEscape("repository:app:pull")
	r = do(t, s, dreq{method: http.MethodGet, path: tokPath, user: "admin", pass: DefaultAdminToken})
	if r.status != http.StatusOK {
		t.Fatalf("token: %s", r)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		IssuedAt    string `json:"issued_at"`
	}
	if err := json.Unmarshal(r.body, &tok); err != nil || tok.Token == "" || tok.AccessToken != tok.Token || tok.ExpiresIn != 3600 || tok.IssuedAt == "" {
		t.Fatalf("token body %s (%v)", r.body, err)
	}
	r = do(t, s, dreq{method: http.MethodGet, path: "/v2/", bearer: tok.Token})
	expectStatus(t, "with issued token", r, http.StatusOK, "")
	if string(r.body) != "{}" {
		t.Fatalf("/v2/ body %q, want {}", r.body)
	}
	// The access token as Bearer, basic user:token, and the API path.
	expectStatus(t, "with access token", do(t, s, dreq{method: http.MethodGet, path: "/v2/", bearer: DefaultAdminToken}), http.StatusOK, "")
	expectStatus(t, "with basic", do(t, s, dreq{method: http.MethodGet, path: "/v2/", user: "reader", pass: "rt"}), http.StatusOK, "")
	expectStatus(t, "via /artifactory/api/docker/docker-local/v2/",
		do(t, s, dreq{method: http.MethodGet, path: "/artifactory/api/docker/docker-local/v2/", bearer: tok.Token}), http.StatusOK, "")
	// Null realm.
	r = do(t, s, dreq{method: http.MethodGet, path: "/artifactory/api/docker/null/v2/token", user: "reader", pass: "rt"})
	if r.status != http.StatusOK {
		t.Fatalf("null token: %s", r)
	}

	// Bad and missing credentials.
	for _, q := range []dreq{
		{method: http.MethodGet, path: tokPath, user: "admin", pass: "wrong"},
		{method: http.MethodGet, path: tokPath, user: "nobody", pass: "x"},
		{method: http.MethodGet, path: tokPath},
		{method: http.MethodGet, path: tokPath, bearer: "not-a-token"},
	} {
		r := do(t, s, q)
		if r.status != http.StatusUnauthorized || !bytes.Contains(r.body, []byte(`"details":"BAD_CREDENTIAL"`)) || !bytes.Contains(r.body, []byte(`"statusCode":401`)) {
			t.Fatalf("token with user %q bearer %q: %s, want 401 BAD_CREDENTIAL", q.user, q.bearer, r)
		}
	}
	r = do(t, s, dreq{method: http.MethodGet, path: "/v2/", bearer: "expired-or-bogus"})
	expectStatus(t, "with a bad token", r, http.StatusUnauthorized, "UNAUTHORIZED")
	if r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("/v2/ with a bad token: no challenge")
	}

	// OAuth2 password grant.
	form := url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {DefaultAdminToken}, "service": {host}, "scope": {"repository:app:pull"}}
	r = do(t, s, dreq{method: http.MethodPost, path: "/artifactory/api/docker/docker-local/v2/token", body: []byte(form.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"access_token"`)) {
		t.Fatalf("oauth2 password grant: %s", r)
	}
	form.Set("password", "wrong")
	r = do(t, s, dreq{method: http.MethodPost, path: "/artifactory/api/docker/docker-local/v2/token", body: []byte(form.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if r.status != http.StatusUnauthorized {
		t.Fatalf("oauth2 password grant with a bad password: %s", r)
	}

	// Unknown repository.
	expectStatus(t, "/v2/nope/app/tags/list", admin(t, s, http.MethodGet, "/v2/nope/app/tags/list", nil, nil), http.StatusNotFound, "NAME_UNKNOWN")
	expectStatus(t, "/v2/docker-local/Bad_Name/tags/list", admin(t, s, http.MethodGet, "/v2/docker-local/Bad_Name/tags/list", nil, nil), http.StatusBadRequest, "NAME_INVALID")
}

func TestDockerUploads(t *testing.T) {
	s := newDockerServer(t)
	const name = "docker-local/team/app"

	// Monolithic.
	mono := randomBytes(t, 1000)
	dg := pushBlob(t, s, name, mono)
	r := admin(t, s, http.MethodHead, "/v2/"+name+"/blobs/"+dg, nil, nil)
	expectStatus(t, "HEAD blob "+dg, r, http.StatusOK, "")
	if r.header.Get("Docker-Content-Digest") != dg || r.header.Get("Content-Length") != "1000" || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("HEAD blob headers %v", r.header)
	}
	r = admin(t, s, http.MethodGet, "/v2/"+name+"/blobs/"+dg, nil, nil)
	if r.status != http.StatusOK || !bytes.Equal(r.body, mono) {
		t.Fatalf("GET blob %s: %d, %d bytes", dg, r.status, len(r.body))
	}
	// Monolithic with a wrong digest.
	r = admin(t, s, http.MethodPost, "/v2/"+name+"/blobs/uploads/?digest="+digestOf([]byte("other")), mono, nil)
	expectStatus(t, "monolithic upload with a wrong digest", r, http.StatusBadRequest, "DIGEST_INVALID")

	// Chunked: POST, PATCH with and without Content-Range, PUT with the last chunk.
	chunked := randomBytes(t, 3000)
	r = admin(t, s, http.MethodPost, "/v2/"+name+"/blobs/uploads/", nil, nil)
	expectStatus(t, "start upload", r, http.StatusAccepted, "")
	loc := r.header.Get("Location")
	uuid := r.header.Get("Docker-Upload-UUID")
	if !strings.HasPrefix(loc, "/v2/"+name+"/blobs/uploads/") || !strings.HasSuffix(loc, uuid) || uuid == "" || r.header.Get("Range") != "0-0" {
		t.Fatalf("start upload headers: Location %q UUID %q Range %q", loc, uuid, r.header.Get("Range"))
	}
	r = admin(t, s, http.MethodPatch, loc, chunked[:1000], map[string]string{"Content-Range": "0-999", "Content-Type": "application/octet-stream"})
	expectStatus(t, "PATCH 0-999", r, http.StatusAccepted, "")
	if r.header.Get("Range") != "0-999" || r.header.Get("Location") != loc {
		t.Fatalf("PATCH 0-999: Range %q Location %q", r.header.Get("Range"), r.header.Get("Location"))
	}
	r = admin(t, s, http.MethodPatch, loc, chunked[1000:2000], map[string]string{"Content-Range": "500-1499"})
	expectStatus(t, "PATCH with an overlapping Content-Range", r, http.StatusRequestedRangeNotSatisfiable, "")
	if r.header.Get("Range") != "0-999" {
		t.Fatalf("416 Range %q, want 0-999", r.header.Get("Range"))
	}
	r = admin(t, s, http.MethodPatch, loc, chunked[1000:2000], nil) // streamed, no Content-Range
	expectStatus(t, "PATCH streamed", r, http.StatusAccepted, "")
	if r.header.Get("Range") != "0-1999" {
		t.Fatalf("PATCH streamed: Range %q", r.header.Get("Range"))
	}
	r = admin(t, s, http.MethodGet, loc, nil, nil)
	expectStatus(t, "GET upload status", r, http.StatusNoContent, "")
	if r.header.Get("Range") != "0-1999" || r.header.Get("Docker-Upload-UUID") != uuid {
		t.Fatalf("upload status: Range %q UUID %q", r.header.Get("Range"), r.header.Get("Docker-Upload-UUID"))
	}
	cdg := digestOf(chunked)
	r = admin(t, s, http.MethodPut, loc+"?digest="+url.QueryEscape(cdg), chunked[2000:], nil)
	expectStatus(t, "PUT last chunk", r, http.StatusCreated, "")
	if r.header.Get("Location") != "/v2/"+name+"/blobs/"+cdg || r.header.Get("Docker-Content-Digest") != cdg {
		t.Fatalf("finish upload headers: Location %q Digest %q", r.header.Get("Location"), r.header.Get("Docker-Content-Digest"))
	}
	expectStatus(t, "upload after PUT", admin(t, s, http.MethodGet, loc, nil, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	if got, ok := s.Store().BlobContent(hexOf(chunked)); !ok || !bytes.Equal(got, chunked) {
		t.Fatalf("chunked blob %s not in the content store", cdg)
	}

	// Digest mismatch at PUT.
	r = admin(t, s, http.MethodPost, "/v2/"+name+"/blobs/uploads/", nil, nil)
	loc = r.header.Get("Location")
	admin(t, s, http.MethodPatch, loc, []byte("hello"), nil)
	r = admin(t, s, http.MethodPut, loc+"?digest="+url.QueryEscape(digestOf([]byte("bye"))), nil, nil)
	expectStatus(t, "PUT with a digest mismatch", r, http.StatusBadRequest, "DIGEST_INVALID")
	if s.Store().HasBlob(hexOf([]byte("hello"))) {
		t.Fatalf("a blob that failed verification was stored")
	}
	// Cancel.
	r = admin(t, s, http.MethodPost, "/v2/"+name+"/blobs/uploads/", nil, nil)
	loc = r.header.Get("Location")
	expectStatus(t, "DELETE upload", admin(t, s, http.MethodDelete, loc, nil, nil), http.StatusNoContent, "")
	expectStatus(t, "PATCH cancelled upload", admin(t, s, http.MethodPatch, loc, []byte("x"), nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	// An upload session belongs to its image.
	r = admin(t, s, http.MethodPost, "/v2/"+name+"/blobs/uploads/", nil, nil)
	other := strings.Replace(r.header.Get("Location"), "/team/app/", "/team/other/", 1)
	expectStatus(t, "upload session used from another image", admin(t, s, http.MethodGet, other, nil, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

	// Mount: hit from another image of the same repository, miss otherwise.
	r = admin(t, s, http.MethodPost, "/v2/docker-local/mounted/blobs/uploads/?mount="+url.QueryEscape(dg)+"&from="+url.QueryEscape(name), nil, nil)
	expectStatus(t, "mount hit", r, http.StatusCreated, "")
	if r.header.Get("Location") != "/v2/docker-local/mounted/blobs/"+dg || r.header.Get("Docker-Content-Digest") != dg {
		t.Fatalf("mount hit headers: %v", r.header)
	}
	r = admin(t, s, http.MethodPost, "/v2/docker-local/mounted2/blobs/uploads/?mount="+url.QueryEscape(digestOf([]byte("absent")))+"&from="+url.QueryEscape(name), nil, nil)
	expectStatus(t, "mount miss", r, http.StatusAccepted, "")
	if r.header.Get("Docker-Upload-UUID") == "" {
		t.Fatalf("mount miss: no upload session")
	}
	r = admin(t, s, http.MethodPost, "/v2/docker-local/mounted3/blobs/uploads/?mount="+url.QueryEscape(dg)+"&from="+url.QueryEscape("docker-remote/team/app"), nil, nil)
	expectStatus(t, "mount from another repository", r, http.StatusAccepted, "")

	// Blob errors.
	expectStatus(t, "unknown blob", admin(t, s, http.MethodHead, "/v2/"+name+"/blobs/"+digestOf([]byte("nope")), nil, nil), http.StatusNotFound, "")
	expectStatus(t, "unknown blob GET", admin(t, s, http.MethodGet, "/v2/"+name+"/blobs/"+digestOf([]byte("nope")), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	expectStatus(t, "blob in another image", admin(t, s, http.MethodGet, "/v2/docker-local/other/blobs/"+dg, nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	expectStatus(t, "bad digest", admin(t, s, http.MethodGet, "/v2/"+name+"/blobs/sha256:XYZ", nil, nil), http.StatusBadRequest, "DIGEST_INVALID")
	expectStatus(t, "uppercase digest", admin(t, s, http.MethodGet, "/v2/"+name+"/blobs/"+strings.ToUpper(dg), nil, nil), http.StatusBadRequest, "DIGEST_INVALID")
	expectStatus(t, "sha512 digest", admin(t, s, http.MethodGet, "/v2/"+name+"/blobs/sha512:"+strings.Repeat("ab", 64), nil, nil), http.StatusBadRequest, "DIGEST_INVALID")
	expectStatus(t, "blob DELETE", admin(t, s, http.MethodDelete, "/v2/"+name+"/blobs/"+dg, nil, nil), http.StatusMethodNotAllowed, "UNSUPPORTED")

	expectLayout(t, s, "docker-local", "", []string{
		"team/", "team/app/", "team/app/_uploads/",
		"team/app/_uploads/sha256__" + hexOf(mono),
		"team/app/_uploads/sha256__" + hexOf(chunked),
		"mounted/", "mounted/_uploads/", "mounted/_uploads/sha256__" + hexOf(mono),
	})
	it, _ := s.Store().Get("docker-local", "team/app/_uploads/sha256__"+hexOf(mono))
	if it.SHA256() != hexOf(mono) || it.CreatedBy != "admin" {
		t.Fatalf("uploaded blob item: sha %s by %s", it.SHA256(), it.CreatedBy)
	}
}

func TestDockerManifestPushLayout(t *testing.T) {
	s := newDockerServer(t)
	const name = "docker-local/app"
	img := makeImage(t, 2, nil, "")
	img.pushBlobs(t, s, name)

	// Missing blobs are refused, as are invalid bodies and mismatched digests.
	lonely := makeImage(t, 1, nil, "")
	pushBlob(t, s, name, lonely.config)
	r := putManifest(t, s, name, "broken", v1.MediaTypeImageManifest, lonely.manifest)
	expectStatus(t, "manifest with a missing layer", r, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
	if !bytes.Contains(r.body, []byte(digestOf(lonely.layers[0]))) {
		t.Fatalf("missing-layer error does not name the layer: %s", r.body)
	}
	expectStatus(t, "invalid manifest", putManifest(t, s, name, "broken", v1.MediaTypeImageManifest, []byte("{not json")), http.StatusBadRequest, "MANIFEST_INVALID")
	expectStatus(t, "schema 1", putManifest(t, s, name, "broken", "application/vnd.docker.distribution.manifest.v1+prettyjws", []byte(`{"schemaVersion":1}`)), http.StatusBadRequest, "MANIFEST_INVALID")
	expectStatus(t, "manifest by a wrong digest", putManifest(t, s, name, digestOf([]byte("x")), v1.MediaTypeImageManifest, img.manifest), http.StatusBadRequest, "DIGEST_INVALID")
	expectStatus(t, "manifest with a bad tag", putManifest(t, s, name, "-bad", v1.MediaTypeImageManifest, img.manifest), http.StatusBadRequest, "TAG_INVALID")
	expectStatus(t, "manifest tagged _uploads", putManifest(t, s, name, "_uploads", v1.MediaTypeImageManifest, img.manifest), http.StatusBadRequest, "TAG_INVALID")
	sha512 := strings.Replace(string(img.manifest), `"digest":"sha256:`+hexOf(img.layers[0])+`"`, `"digest":"sha512:`+strings.Repeat("ab", 64)+`"`, 1)
	expectStatus(t, "manifest with a sha512 layer", putManifest(t, s, name, "broken", v1.MediaTypeImageManifest, []byte(sha512)), http.StatusBadRequest, "DIGEST_INVALID")
	expectStatus(t, "manifest to a remote repository", putManifest(t, s, "docker-remote/app", "v1", v1.MediaTypeImageManifest, img.manifest), http.StatusMethodNotAllowed, "UNSUPPORTED")
	expectStatus(t, "upload to a remote repository", admin(t, s, http.MethodPost, "/v2/docker-remote/app/blobs/uploads/", nil, nil), http.StatusMethodNotAllowed, "UNSUPPORTED")

	// By tag.
	r = putManifest(t, s, name, "v1", v1.MediaTypeImageManifest, img.manifest)
	expectStatus(t, "manifest PUT v1", r, http.StatusCreated, "")
	if r.header.Get("Docker-Content-Digest") != img.digest() || r.header.Get("Location") != "/v2/"+name+"/manifests/"+img.digest() {
		t.Fatalf("manifest PUT headers %v", r.header)
	}
	if r.header.Get("OCI-Subject") != "" {
		t.Fatalf("OCI-Subject on a manifest without subject")
	}
	// By digest.
	expectStatus(t, "manifest PUT by digest", putManifest(t, s, name, img.digest(), v1.MediaTypeImageManifest, img.manifest), http.StatusCreated, "")

	cfgHex, l0, l1 := hexOf(img.config), hexOf(img.layers[0]), hexOf(img.layers[1])
	dfolder := "app/sha256:" + img.hex()
	expectLayout(t, s, "docker-local", "", []string{
		"app/", "app/_uploads/",
		"app/_uploads/sha256__" + cfgHex, "app/_uploads/sha256__" + l0, "app/_uploads/sha256__" + l1,
		"app/_uploads/sha256__" + hexOf(lonely.config),
		"app/v1/", "app/v1/manifest.json", "app/v1/sha256__" + cfgHex, "app/v1/sha256__" + l0, "app/v1/sha256__" + l1,
		dfolder + "/", dfolder + "/manifest.json", dfolder + "/sha256__" + cfgHex, dfolder + "/sha256__" + l0, dfolder + "/sha256__" + l1,
	})
	it, _ := s.Store().Get("docker-local", "app/v1/manifest.json")
	wantProps := map[string][]string{
		"docker.manifest":               {"v1"},
		"docker.manifest.digest":        {img.digest()},
		"docker.manifest.type":          {v1.MediaTypeImageManifest},
		"docker.repoName":               {"app"},
		"sha256":                        {img.hex()},
		"docker.label.org.example.team": {"infra"},
	}
	if !maps.EqualFunc(it.Props, wantProps, slices.Equal) {
		t.Fatalf("props of app/v1/manifest.json: %v, want %v", it.Props, wantProps)
	}
	if data, _ := s.Store().Content(it); !bytes.Equal(data, img.manifest) {
		t.Fatalf("app/v1/manifest.json is not the pushed bytes")
	}
	dit, _ := s.Store().Get("docker-local", dfolder+"/manifest.json")
	if dit.Props["docker.manifest"][0] != img.digest() {
		t.Fatalf("props of %s/manifest.json: docker.manifest %v", dfolder, dit.Props["docker.manifest"])
	}
	if b, _ := s.Store().Get("docker-local", "app/v1/sha256__"+l0); b.SHA256() != l0 {
		t.Fatalf("app/v1/sha256__%s holds %s", l0, b.SHA256())
	}

	// GET and HEAD, by tag and by digest.
	for _, ref := range []string{"v1", img.digest()} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			r := admin(t, s, m, "/v2/"+name+"/manifests/"+ref, nil, map[string]string{"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
			expectStatus(t, ""+m+" manifest "+ref, r, http.StatusOK, "")
			if r.header.Get("Content-Type") != v1.MediaTypeImageManifest || r.header.Get("Docker-Content-Digest") != img.digest() ||
				r.header.Get("Content-Length") != fmt.Sprint(len(img.manifest)) || r.header.Get("ETag") == "" {
				t.Fatalf("%s manifest %s headers %v", m, ref, r.header)
			}
			if m == http.MethodGet && !bytes.Equal(r.body, img.manifest) {
				t.Fatalf("GET manifest %s: body differs", ref)
			}
		}
	}
	expectStatus(t, "unknown tag", admin(t, s, http.MethodGet, "/v2/"+name+"/manifests/nope", nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	expectStatus(t, "unknown digest", admin(t, s, http.MethodGet, "/v2/"+name+"/manifests/"+digestOf([]byte("n")), nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")

	// Pull by digest from a tag folder only.
	only := makeImage(t, 1, nil, "")
	only.pushBlobs(t, s, name)
	expectStatus(t, "PUT only-tag", putManifest(t, s, name, "only-tag", v1.MediaTypeImageManifest, only.manifest), http.StatusCreated, "")
	r = admin(t, s, http.MethodGet, "/v2/"+name+"/manifests/"+only.digest(), nil, nil)
	if r.status != http.StatusOK || !bytes.Equal(r.body, only.manifest) {
		t.Fatalf("GET by digest %s from app/only-tag: %s", only.digest(), r)
	}

	// An index: children must exist; stored as list.manifest.json without blobs.
	a, b := makeImage(t, 1, nil, ""), makeImage(t, 1, nil, "")
	a.pushBlobs(t, s, name)
	b.pushBlobs(t, s, name)
	idx := makeIndex(v1.MediaTypeImageIndex, a, b)
	expectStatus(t, "index with unknown children", putManifest(t, s, name, "multi", v1.MediaTypeImageIndex, idx), http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
	for _, c := range []testImage{a, b} {
		expectStatus(t, "child "+c.digest(), putManifest(t, s, name, c.digest(), v1.MediaTypeImageManifest, c.manifest), http.StatusCreated, "")
	}
	expectStatus(t, "index", putManifest(t, s, name, "multi", v1.MediaTypeImageIndex, idx), http.StatusCreated, "")
	expectLayout(t, s, "docker-local", "app/multi", []string{"app/multi/", "app/multi/list.manifest.json"})
	lit, _ := s.Store().Get("docker-local", "app/multi/list.manifest.json")
	if lit.Props["docker.manifest.type"][0] != v1.MediaTypeImageIndex || lit.Props["docker.manifest"][0] != "multi" || lit.SHA256() != hexOf(idx) {
		t.Fatalf("props of app/multi/list.manifest.json: %v", lit.Props)
	}
	// The same index by digest: sha256:<hex>/list.manifest.json.
	expectStatus(t, "index by digest", putManifest(t, s, name, digestOf(idx), v1.MediaTypeImageIndex, idx), http.StatusCreated, "")
	expectLayout(t, s, "docker-local", "app/sha256:"+hexOf(idx), []string{"app/sha256:" + hexOf(idx) + "/", "app/sha256:" + hexOf(idx) + "/list.manifest.json"})

	// A Docker manifest list and schema2 manifest, media type taken from the body when Content-Type is generic.
	dl := makeIndex("application/vnd.docker.distribution.manifest.list.v2+json", a)
	expectStatus(t, "docker list", putManifest(t, s, name, "dlist", "application/json", dl), http.StatusCreated, "")
	r = admin(t, s, http.MethodGet, "/v2/"+name+"/manifests/dlist", nil, nil)
	if r.header.Get("Content-Type") != "application/vnd.docker.distribution.manifest.list.v2+json" {
		t.Fatalf("GET dlist Content-Type %q", r.header.Get("Content-Type"))
	}
	expectStatus(t, "conflicting media types", putManifest(t, s, name, "conflict", v1.MediaTypeImageIndex, dl), http.StatusBadRequest, "MANIFEST_INVALID")

	// Overwriting a tag replaces the folder's content: v1 becomes the index.
	expectStatus(t, "overwrite v1", putManifest(t, s, name, "v1", v1.MediaTypeImageIndex, idx), http.StatusCreated, "")
	expectLayout(t, s, "docker-local", "app/v1", []string{"app/v1/", "app/v1/list.manifest.json"})
}

// A re-push whose blobs exist only in the folder being replaced keeps them (and the content store keeps them).
func TestDockerRepushKeepsBlobs(t *testing.T) {
	s := newDockerServer(t)
	const name = "docker-local/app"
	img := makeImage(t, 1, nil, "")
	img.pushBlobs(t, s, name)
	expectStatus(t, "push v1", putManifest(t, s, name, "v1", v1.MediaTypeImageManifest, img.manifest), http.StatusCreated, "")
	if _, err := s.Store().Delete("docker-local", "app/_uploads"); err != nil { // Artifactory's cleanup job
		t.Fatal(err)
	}
	expectStatus(t, "re-push v1", putManifest(t, s, name, "v1", v1.MediaTypeImageManifest, img.manifest), http.StatusCreated, "")
	expectLayout(t, s, "docker-local", "app/v1", []string{"app/v1/", "app/v1/manifest.json", "app/v1/sha256__" + hexOf(img.config), "app/v1/sha256__" + hexOf(img.layers[0])})
	for _, h := range []string{hexOf(img.config), hexOf(img.layers[0]), img.hex()} {
		if !s.Store().HasBlob(h) {
			t.Fatalf("content store lost %s after a re-push", h)
		}
	}
	// An index pushed to v1 whose child lives only in v1: the child is kept under its digest folder.
	idx := makeIndex(v1.MediaTypeImageIndex, img)
	expectStatus(t, "index over its own child", putManifest(t, s, name, "v1", v1.MediaTypeImageIndex, idx), http.StatusCreated, "")
	d := "app/sha256:" + img.hex()
	expectLayout(t, s, "docker-local", "app", []string{
		"app/", "app/v1/", "app/v1/list.manifest.json",
		d + "/", d + "/manifest.json", d + "/sha256__" + hexOf(img.config), d + "/sha256__" + hexOf(img.layers[0]),
	})
	r := admin(t, s, http.MethodGet, "/v2/"+name+"/blobs/"+digestOf(img.layers[0]), nil, nil)
	if r.status != http.StatusOK || !bytes.Equal(r.body, img.layers[0]) {
		t.Fatalf("layer after the index push: %s", r)
	}
}

func TestDockerTagsList(t *testing.T) {
	s := newDockerServer(t)
	const name = "docker-local/app"
	img := makeImage(t, 1, nil, "")
	img.pushBlobs(t, s, name)
	for _, tag := range []string{"c", "a", "b", "d", "sha256-" + img.hex()} {
		expectStatus(t, "push "+tag, putManifest(t, s, name, tag, v1.MediaTypeImageManifest, img.manifest), http.StatusCreated, "")
	}
	expectStatus(t, "push by digest", putManifest(t, s, name, img.digest(), v1.MediaTypeImageManifest, img.manifest), http.StatusCreated, "")
	if err := s.Store().MkdirAll("docker-local", "app/empty", "admin"); err != nil {
		t.Fatal(err)
	}
	r := admin(t, s, http.MethodGet, "/v2/"+name+"/tags/list", nil, nil)
	var tl struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(r.body, &tl); err != nil || r.status != http.StatusOK {
		t.Fatalf("tags/list: %s", r)
	}
	want := []string{"a", "b", "c", "d", "sha256-" + img.hex()}
	if tl.Name != name || !slices.Equal(tl.Tags, want) {
		t.Fatalf("tags/list of %s: %+v, want %v", name, tl, want)
	}
	r = admin(t, s, http.MethodGet, "/v2/"+name+"/tags/list?n=2", nil, nil)
	_ = json.Unmarshal(r.body, &tl)
	if !slices.Equal(tl.Tags, []string{"a", "b"}) || r.header.Get("Link") != `</v2/`+name+`/tags/list?n=2&last=b>; rel="next"` {
		t.Fatalf("tags/list n=2: %v Link %q", tl.Tags, r.header.Get("Link"))
	}
	r = admin(t, s, http.MethodGet, "/v2/"+name+"/tags/list?n=2&last=b", nil, nil)
	_ = json.Unmarshal(r.body, &tl)
	if !slices.Equal(tl.Tags, []string{"c", "d"}) {
		t.Fatalf("tags/list n=2&last=b: %v", tl.Tags)
	}
	r = admin(t, s, http.MethodGet, "/v2/"+name+"/tags/list?n=10&last=d", nil, nil)
	_ = json.Unmarshal(r.body, &tl)
	if !slices.Equal(tl.Tags, want[4:]) || r.header.Get("Link") != "" {
		t.Fatalf("tags/list last=d: %v Link %q", tl.Tags, r.header.Get("Link"))
	}
	expectStatus(t, "tags/list bad n", admin(t, s, http.MethodGet, "/v2/"+name+"/tags/list?n=x", nil, nil), http.StatusBadRequest, "")
	expectStatus(t, "tags/list of a missing image", admin(t, s, http.MethodGet, "/v2/docker-local/nope/tags/list", nil, nil), http.StatusNotFound, "NAME_UNKNOWN")

	r = admin(t, s, http.MethodGet, "/v2/_catalog", nil, nil)
	if r.status != http.StatusOK || string(r.body) != `{"repositories":["docker-local/app"]}` {
		t.Fatalf("catalog: %s", r)
	}
}

func TestDockerDeleteByDigest(t *testing.T) {
	s := newDockerServer(t)
	const name = "docker-local/app"
	a, b, other := makeImage(t, 1, nil, ""), makeImage(t, 1, nil, ""), makeImage(t, 1, nil, "")
	for _, c := range []testImage{a, b, other} {
		c.pushBlobs(t, s, name)
	}
	for _, c := range []testImage{a, b} {
		expectStatus(t, "child", putManifest(t, s, name, c.digest(), v1.MediaTypeImageManifest, c.manifest), http.StatusCreated, "")
	}
	idx := makeIndex(v1.MediaTypeImageIndex, a, b)
	for _, tag := range []string{"v1", "latest"} {
		expectStatus(t, "index "+tag, putManifest(t, s, name, tag, v1.MediaTypeImageIndex, idx), http.StatusCreated, "")
	}
	expectStatus(t, "index by digest", putManifest(t, s, name, digestOf(idx), v1.MediaTypeImageIndex, idx), http.StatusCreated, "")
	expectStatus(t, "other", putManifest(t, s, name, "v2", v1.MediaTypeImageManifest, other.manifest), http.StatusCreated, "")
	expectStatus(t, "a tagged", putManifest(t, s, name, "a-tag", v1.MediaTypeImageManifest, a.manifest), http.StatusCreated, "")

	// Readers cannot delete.
	r := do(t, s, dreq{method: http.MethodDelete, path: "/v2/" + name + "/manifests/" + digestOf(idx), user: "reader", pass: "rt"})
	expectStatus(t, "reader DELETE", r, http.StatusForbidden, "DENIED")

	r = admin(t, s, http.MethodDelete, "/v2/"+name+"/manifests/"+digestOf(idx), nil, nil)
	expectStatus(t, "DELETE index by digest", r, http.StatusAccepted, "")
	up := func(x []byte) string { return "app/_uploads/sha256__" + hexOf(x) }
	da, db := "app/sha256:"+a.hex(), "app/sha256:"+b.hex()
	want := []string{
		"app/", "app/_uploads/",
		up(a.config), up(a.layers[0]), up(b.config), up(b.layers[0]), up(other.config), up(other.layers[0]),
		da + "/", da + "/manifest.json", da + "/sha256__" + hexOf(a.config), da + "/sha256__" + hexOf(a.layers[0]),
		db + "/", db + "/manifest.json", db + "/sha256__" + hexOf(b.config), db + "/sha256__" + hexOf(b.layers[0]),
		"app/v2/", "app/v2/manifest.json", "app/v2/sha256__" + hexOf(other.config), "app/v2/sha256__" + hexOf(other.layers[0]),
		"app/a-tag/", "app/a-tag/manifest.json", "app/a-tag/sha256__" + hexOf(a.config), "app/a-tag/sha256__" + hexOf(a.layers[0]),
	}
	expectLayout(t, s, "docker-local", "", want)
	expectStatus(t, "DELETE again", admin(t, s, http.MethodDelete, "/v2/"+name+"/manifests/"+digestOf(idx), nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")

	// A digest held by a digest folder and a tag folder: both go.
	expectStatus(t, "DELETE a by digest", admin(t, s, http.MethodDelete, "/v2/"+name+"/manifests/"+a.digest(), nil, nil), http.StatusAccepted, "")
	for _, p := range []string{da, "app/a-tag"} {
		if _, ok := s.Store().Get("docker-local", p); ok {
			t.Fatalf("%s survived DELETE of %s", p, a.digest())
		}
	}
	// By tag: that folder only.
	expectStatus(t, "DELETE v2 by tag", admin(t, s, http.MethodDelete, "/v2/"+name+"/manifests/v2", nil, nil), http.StatusAccepted, "")
	expectStatus(t, "DELETE missing tag", admin(t, s, http.MethodDelete, "/v2/"+name+"/manifests/v2", nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	expectLayout(t, s, "docker-local", "app/"+"sha256:"+b.hex(), []string{db + "/", db + "/manifest.json", db + "/sha256__" + hexOf(b.config), db + "/sha256__" + hexOf(b.layers[0])})
	if _, ok := s.Store().Get("docker-local", "app/v2"); ok {
		t.Fatalf("app/v2 survived DELETE by tag")
	}
}

func TestDockerReferrers(t *testing.T) {
	s := newDockerServer(t)
	const name = "docker-local/app"
	subj := makeImage(t, 1, nil, "")
	subj.pushBlobs(t, s, name)
	expectStatus(t, "subject", putManifest(t, s, name, "v1", v1.MediaTypeImageManifest, subj.manifest), http.StatusCreated, "")
	sd := desc(v1.MediaTypeImageManifest, subj.manifest)

	// Empty index, not 404.
	r := admin(t, s, http.MethodGet, "/v2/"+name+"/referrers/"+subj.digest(), nil, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != v1.MediaTypeImageIndex ||
		string(r.body) != `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}` {
		t.Fatalf("empty referrers: %s (%s)", r, r.header.Get("Content-Type"))
	}

	sbom := makeImage(t, 1, &sd, "application/spdx+json")
	sig := makeImage(t, 1, &sd, "")
	sbom.pushBlobs(t, s, name)
	sig.pushBlobs(t, s, name)
	r = putManifest(t, s, name, sbom.digest(), v1.MediaTypeImageManifest, sbom.manifest)
	expectStatus(t, "sbom", r, http.StatusCreated, "")
	if r.header.Get("OCI-Subject") != subj.digest() {
		t.Fatalf("OCI-Subject %q, want %s", r.header.Get("OCI-Subject"), subj.digest())
	}
	expectStatus(t, "sig", putManifest(t, s, name, "sig-tag", v1.MediaTypeImageManifest, sig.manifest), http.StatusCreated, "")

	type index struct {
		Manifests []v1.Descriptor `json:"manifests"`
	}
	r = admin(t, s, http.MethodGet, "/v2/"+name+"/referrers/"+subj.digest(), nil, nil)
	var got index
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 || len(got.Manifests) != 2 {
		t.Fatalf("referrers of %s: %s", subj.digest(), r)
	}
	byDigest := map[string]v1.Descriptor{}
	for _, d := range got.Manifests {
		byDigest[string(d.Digest)] = d
	}
	if d := byDigest[sbom.digest()]; d.ArtifactType != "application/spdx+json" || d.MediaType != v1.MediaTypeImageManifest ||
		d.Size != int64(len(sbom.manifest)) || d.Annotations["org.example.kind"] != "application/spdx+json" {
		t.Fatalf("sbom referrer %+v", d)
	}
	if d := byDigest[sig.digest()]; d.ArtifactType != v1.MediaTypeImageConfig {
		t.Fatalf("sig referrer (artifactType from config.mediaType) %+v", d)
	}
	r = admin(t, s, http.MethodGet, "/v2/"+name+"/referrers/"+subj.digest()+"?artifactType="+url.QueryEscape("application/spdx+json"), nil, nil)
	got = index{}
	_ = json.Unmarshal(r.body, &got)
	if len(got.Manifests) != 1 || string(got.Manifests[0].Digest) != sbom.digest() || r.header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("filtered referrers: %s (OCI-Filters-Applied %q)", r, r.header.Get("OCI-Filters-Applied"))
	}

	// Off: 404, and no OCI-Subject on push.
	s.SetReferrersAPI(false)
	expectStatus(t, "referrers off", admin(t, s, http.MethodGet, "/v2/"+name+"/referrers/"+subj.digest(), nil, nil), http.StatusNotFound, "")
	more := makeImage(t, 1, &sd, "application/vnd.example")
	more.pushBlobs(t, s, name)
	r = putManifest(t, s, name, more.digest(), v1.MediaTypeImageManifest, more.manifest)
	expectStatus(t, "referrer with the API off", r, http.StatusCreated, "")
	if r.header.Get("OCI-Subject") != "" {
		t.Fatalf("OCI-Subject with the referrers API off")
	}
	s.SetReferrersAPI(true)
	r = admin(t, s, http.MethodGet, "/v2/"+name+"/referrers/"+subj.digest(), nil, nil)
	got = index{}
	_ = json.Unmarshal(r.body, &got)
	if len(got.Manifests) != 3 {
		t.Fatalf("referrers after switching back on: %s", r)
	}
}

func TestDockerPermissions(t *testing.T) {
	s := newDockerServer(t, WithUser(User{Name: "pusher", Token: "pt", Perms: []Permission{PermRead, PermDeploy}}))
	const name = "docker-local/app"
	img := makeImage(t, 1, nil, "")
	img.pushBlobs(t, s, name)
	expectStatus(t, "push", putManifest(t, s, name, "v1", v1.MediaTypeImageManifest, img.manifest), http.StatusCreated, "")

	reader := func(method, path string, body []byte) dresp {
		return do(t, s, dreq{method: method, path: path, body: body, user: "reader", pass: "rt"})
	}
	expectStatus(t, "reader pull", reader(http.MethodGet, "/v2/"+name+"/manifests/v1", nil), http.StatusOK, "")
	expectStatus(t, "reader blob", reader(http.MethodGet, "/v2/"+name+"/blobs/"+digestOf(img.config), nil), http.StatusOK, "")
	expectStatus(t, "reader upload", reader(http.MethodPost, "/v2/"+name+"/blobs/uploads/", nil), http.StatusForbidden, "DENIED")
	expectStatus(t, "reader monolithic upload", reader(http.MethodPost, "/v2/"+name+"/blobs/uploads/?digest="+digestOf([]byte("x")), []byte("x")), http.StatusForbidden, "DENIED")
	expectStatus(t, "reader manifest PUT", do(t, s, dreq{method: http.MethodPut, path: "/v2/" + name + "/manifests/v2", body: img.manifest,
		header: map[string]string{"Content-Type": v1.MediaTypeImageManifest}, user: "reader", pass: "rt"}), http.StatusForbidden, "DENIED")
	expectStatus(t, "reader DELETE tag", reader(http.MethodDelete, "/v2/"+name+"/manifests/v1", nil), http.StatusForbidden, "DENIED")
	expectStatus(t, "reader DELETE digest", reader(http.MethodDelete, "/v2/"+name+"/manifests/"+img.digest(), nil), http.StatusForbidden, "DENIED")
	// Deploy without delete.
	r := do(t, s, dreq{method: http.MethodDelete, path: "/v2/" + name + "/manifests/v1", user: "pusher", pass: "pt"})
	expectStatus(t, "pusher DELETE", r, http.StatusForbidden, "DENIED")
	r = do(t, s, dreq{method: http.MethodPut, path: "/v2/" + name + "/manifests/v2", body: img.manifest, header: map[string]string{"Content-Type": v1.MediaTypeImageManifest}, user: "pusher", pass: "pt"})
	expectStatus(t, "pusher PUT", r, http.StatusCreated, "")
	it, _ := s.Store().Get("docker-local", "app/v2/manifest.json")
	if it.CreatedBy != "pusher" {
		t.Fatalf("app/v2/manifest.json created by %q", it.CreatedBy)
	}
	// Pulls from a remote repository's stored content are fine.
	if _, err := s.Store().PutFile(FileSpec{Repo: "docker-remote", Path: "lib/x/1/manifest.json", Data: img.manifest}); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, "pull from remote", reader(http.MethodGet, "/v2/docker-remote/lib/x/manifests/1", nil), http.StatusOK, "")
	expectStatus(t, "DELETE in remote", admin(t, s, http.MethodDelete, "/v2/docker-remote/lib/x/manifests/1", nil, nil), http.StatusMethodNotAllowed, "UNSUPPORTED")
}

// Concurrent pushes of different manifests to one tag leave exactly one consistent manifest folder.
func TestDockerConcurrentPush(t *testing.T) {
	s := newDockerServer(t)
	const name = "docker-local/app"
	imgs := make([]testImage, 8)
	for i := range imgs {
		imgs[i] = makeImage(t, 2, nil, "")
		imgs[i].pushBlobs(t, s, name)
	}
	var wg sync.WaitGroup
	for i := range imgs {
		wg.Go(func() {
			for range 5 {
				r := putManifest(t, s, name, "latest", v1.MediaTypeImageManifest, imgs[i].manifest)
				if r.status != http.StatusCreated {
					t.Errorf("concurrent push %d: %s", i, r)
				}
				admin(t, s, http.MethodGet, "/v2/"+name+"/manifests/latest", nil, nil)
			}
		})
	}
	wg.Wait()
	it, ok := s.Store().Get("docker-local", "app/latest/manifest.json")
	if !ok {
		t.Fatal("app/latest/manifest.json missing")
	}
	var winner testImage
	for _, im := range imgs {
		if im.hex() == it.SHA256() {
			winner = im
		}
	}
	if winner.manifest == nil {
		t.Fatalf("app/latest/manifest.json holds an unknown manifest %s", it.SHA256())
	}
	expectLayout(t, s, "docker-local", "app/latest", []string{
		"app/latest/", "app/latest/manifest.json", "app/latest/sha256__" + hexOf(winner.config),
		"app/latest/sha256__" + hexOf(winner.layers[0]), "app/latest/sha256__" + hexOf(winner.layers[1]),
	})
}

func TestParseV2Path(t *testing.T) {
	for _, c := range []struct {
		in          string
		repo, image string
		kind, arg   string
		ok          bool
	}{
		{"r/a/b/manifests/latest", "r", "a/b", kindManifest, "latest", true},
		{"r/a/blobs/sha256:abc", "r", "a", kindBlob, "sha256:abc", true},
		{"r/a/blobs/uploads/", "r", "a", kindUploads, "", true},
		{"r/a/blobs/uploads", "r", "a", kindUploads, "", true},
		{"r/a/blobs/uploads/u-1", "r", "a", kindUpload, "u-1", true},
		{"r/a/tags/list", "r", "a", kindTags, "", true},
		{"r/a/referrers/sha256:x", "r", "a", kindReferrers, "sha256:x", true},
		{"r/manifests/latest", "r", "", kindManifest, "latest", false},
		{"r/a/whatever/x", "r", "", "", "", false},
	} {
		rt, ok := parseV2Path(c.in)
		if ok != c.ok || rt.repo != c.repo || (ok && (rt.image != c.image || rt.kind != c.kind || rt.arg != c.arg)) {
			t.Errorf("parseV2Path(%q) = %+v, %v", c.in, rt, ok)
		}
	}
}
