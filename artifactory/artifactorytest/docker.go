package artifactorytest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	godigest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// The Docker Registry V2 / OCI distribution API, as Artifactory serves it with the repository-path method: a client
// addresses the image <repo>/<image> on the emulator's host, and the emulator writes Artifactory's storage layout:
//
//	<image>/<tag>/manifest.json              an image manifest pushed by tag, its config and layers beside it
//	<image>/<tag>/sha256__<hex>              (files referencing the content store: no byte copies)
//	<image>/<tag>/list.manifest.json         an image index or Docker manifest list pushed by tag
//	<image>/sha256:<hex>/manifest.json       a manifest pushed by digest (platform children, attestations, referrers)
//	<image>/sha256:<hex>/list.manifest.json  an index pushed by digest
//	<image>/_uploads/sha256__<hex>           uploaded blobs

// Media types the registry accepts as manifests.
const (
	mediaTypeOCIManifest    = v1.MediaTypeImageManifest
	mediaTypeOCIIndex       = v1.MediaTypeImageIndex
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerSchema1  = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeDockerSchema1S = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// Names of the layout.
const (
	manifestFile  = "manifest.json"
	listFile      = "list.manifest.json"
	uploadsFolder = "_uploads"
	blobPrefix    = "sha256__"
	digestPrefix  = "sha256:"
)

// Limits.
const (
	maxManifestBytes  = 4 << 20
	maxUploadSessions = 1024
	maxUploadBytes    = maxDeployBytes
	uploadSessionTTL  = 24 * time.Hour
	dockerTokenTTL    = time.Hour
	maxLabelConfig    = 1 << 20
)

// Distribution error codes.
const (
	codeBlobUnknown         = "BLOB_UNKNOWN"
	codeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	codeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	codeDigestInvalid       = "DIGEST_INVALID"
	codeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	codeManifestInvalid     = "MANIFEST_INVALID"
	codeManifestUnknown     = "MANIFEST_UNKNOWN"
	codeNameInvalid         = "NAME_INVALID"
	codeNameUnknown         = "NAME_UNKNOWN"
	codeSizeInvalid         = "SIZE_INVALID"
	codeTagInvalid          = "TAG_INVALID"
	codeUnauthorized        = "UNAUTHORIZED"
	codeDenied              = "DENIED"
	codeUnsupported         = "UNSUPPORTED"
	codePaginationInvalid   = "PAGINATION_NUMBER_INVALID"
)

var (
	// nameComponentRE is one path component of an image name, as the distribution spec defines it.
	nameComponentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	tagRE           = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	sha256HexRE     = regexp.MustCompile(`^[a-f0-9]{64}$`)
	// digestRE is any syntactically valid digest (algorithm:encoded).
	digestRE = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
)

// dockerRegistry serves the Docker Registry V2 API on top of the emulator's Store.
type dockerRegistry struct {
	e         *Emulator
	referrers atomic.Bool

	// mu makes manifest writes and deletes of the registry atomic with respect to each other and to manifest reads.
	mu sync.RWMutex
	// blobMu serialises the check-then-write of uploaded blobs, so that two uploads of the same blob into the same
	// image never overwrite each other.
	blobMu sync.Mutex

	upMu    sync.Mutex
	uploads map[string]*uploadSession
}

type uploadSession struct {
	id, repo, image, user string
	started               time.Time

	mu   sync.Mutex
	data []byte
	done bool
}

func newDockerRegistry(e *Emulator) *dockerRegistry {
	d := &dockerRegistry{e: e, uploads: map[string]*uploadSession{}}
	d.referrers.Store(e.cfg.referrers)
	return d
}

// setReferrers switches the OCI referrers API on or off.
func (d *dockerRegistry) setReferrers(on bool) { d.referrers.Store(on) }

// distError is one entry of the distribution spec's error envelope.
type distError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func writeDistErrors(w http.ResponseWriter, status int, errs ...distError) {
	b, _ := json.Marshal(map[string][]distError{"errors": errs})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeDistError(w http.ResponseWriter, status int, code, msg string, detail any) {
	writeDistErrors(w, status, distError{Code: code, Message: msg, Detail: detail})
}

// v2Route is a parsed /v2/<repo>/<image>/... path.
type v2Route struct {
	repo, image string
	kind        string // manifest, blob, uploads (start), upload (session), tags, referrers
	arg         string
}

const (
	kindManifest  = "manifest"
	kindBlob      = "blob"
	kindUploads   = "uploads"
	kindUpload    = "upload"
	kindTags      = "tags"
	kindReferrers = "referrers"
)

// parseV2Path parses the path after "/v2/". ok is false when it names no endpoint; the repository (first segment)
// is returned anyway, for the authentication challenge.
func parseV2Path(p string) (rt v2Route, ok bool) {
	name := ""
	switch {
	case strings.HasSuffix(p, "/tags/list"):
		name, rt.kind = strings.TrimSuffix(p, "/tags/list"), kindTags
	case strings.HasSuffix(p, "/blobs/uploads/"):
		name, rt.kind = strings.TrimSuffix(p, "/blobs/uploads/"), kindUploads
	case strings.HasSuffix(p, "/blobs/uploads"):
		name, rt.kind = strings.TrimSuffix(p, "/blobs/uploads"), kindUploads
	default:
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			rt.repo = p
			return rt, false
		}
		head, last := p[:i], p[i+1:]
		j := strings.LastIndexByte(head, '/')
		if j < 0 || last == "" {
			rt.repo, _, _ = strings.Cut(p, "/")
			return rt, false
		}
		before, seg := head[:j], head[j+1:]
		rt.arg = last
		switch {
		case seg == "manifests":
			name, rt.kind = before, kindManifest
		case seg == "blobs":
			name, rt.kind = before, kindBlob
		case seg == "referrers":
			name, rt.kind = before, kindReferrers
		case seg == "uploads" && strings.HasSuffix(before, "/blobs"):
			name, rt.kind = strings.TrimSuffix(before, "/blobs"), kindUpload
		default:
			rt.repo, _, _ = strings.Cut(p, "/")
			return rt, false
		}
	}
	rt.repo, rt.image, _ = strings.Cut(name, "/")
	return rt, rt.repo != "" && rt.image != ""
}

// validImage reports whether image is a valid image name (path components of the distribution grammar).
func validImage(image string) bool {
	if len(image) > 255 {
		return false
	}
	for c := range strings.SplitSeq(image, "/") {
		if !nameComponentRE.MatchString(c) {
			return false
		}
	}
	return true
}

// parseDigest validates a digest and returns its sha256 hex. A valid digest of another algorithm is unsupported.
func parseDigest(s string) (string, error) {
	if h, ok := strings.CutPrefix(s, digestPrefix); ok {
		if sha256HexRE.MatchString(h) {
			return h, nil
		}
		return "", fmt.Errorf("invalid sha256 digest %q: want 64 lowercase hexadecimal digits", s)
	}
	if digestRE.MatchString(s) {
		return "", fmt.Errorf("unsupported digest algorithm in %q: only sha256 is supported", s)
	}
	return "", fmt.Errorf("invalid digest %q", s)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// serve handles /v2 and /v2/...; rest is the path after "/v2".
func (d *dockerRegistry) serve(w http.ResponseWriter, r *http.Request, rest string) {
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	p := strings.TrimPrefix(rest, "/")
	if p == "" {
		d.serveBase(w, r)
		return
	}
	if p == "_catalog" {
		u, ok := d.authorize(w, r, "", "")
		if ok {
			d.serveCatalog(w, r, u)
		}
		return
	}
	rt, ok := parseV2Path(p)
	u, authed := d.authorize(w, r, rt.repo, rt.image)
	if !authed {
		return
	}
	if !ok {
		writeDistError(w, http.StatusNotFound, codeNameUnknown, "no such endpoint: "+r.URL.Path, nil)
		return
	}
	repo, found := d.e.store.Repo(rt.repo)
	if !found || !u.seesRepo(rt.repo) || repo.PackageType != PackageDocker {
		writeDistError(w, http.StatusNotFound, codeNameUnknown, "repository name not known to registry", map[string]string{"name": rt.repo + "/" + rt.image})
		return
	}
	if !validImage(rt.image) {
		writeDistError(w, http.StatusBadRequest, codeNameInvalid, "invalid repository name", map[string]string{"name": rt.repo + "/" + rt.image})
		return
	}
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case read && rt.kind != kindUpload:
		if !u.can(PermRead) {
			d.deny(w, u, "read", rt)
			return
		}
	case r.Method == http.MethodDelete && rt.kind != kindUpload:
		if !u.can(PermDelete) {
			d.deny(w, u, "delete", rt)
			return
		}
	default:
		if !u.can(PermDeploy) {
			d.deny(w, u, "deploy", rt)
			return
		}
	}
	if !read && repo.Type != RepoLocal && !(rt.kind == kindBlob && r.Method == http.MethodDelete) {
		writeDistError(w, http.StatusMethodNotAllowed, codeUnsupported,
			fmt.Sprintf("repository %s is a %s repository: push to and delete from a local repository", repo.Key, repo.Type), nil)
		return
	}
	switch rt.kind {
	case kindManifest:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			d.getManifest(w, r, u, rt)
		case http.MethodPut:
			d.putManifest(w, r, u, rt)
		case http.MethodDelete:
			d.deleteManifest(w, u, rt)
		default:
			methodNotAllowed(w, "GET, HEAD, PUT, DELETE")
		}
	case kindBlob:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			d.getBlob(w, r, rt)
		case http.MethodDelete:
			writeDistError(w, http.StatusMethodNotAllowed, codeUnsupported, "Artifactory does not delete blobs through the Docker API", nil)
		default:
			methodNotAllowed(w, "GET, HEAD")
		}
	case kindUploads:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		d.startUpload(w, r, u, rt)
	case kindUpload:
		d.serveUpload(w, r, u, rt)
	case kindTags:
		if !read {
			methodNotAllowed(w, "GET")
			return
		}
		d.serveTags(w, r, rt)
	case kindReferrers:
		if !read {
			methodNotAllowed(w, "GET")
			return
		}
		d.serveReferrers(w, r, rt)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeDistError(w, http.StatusMethodNotAllowed, codeUnsupported, "The operation is unsupported.", nil)
}

func (d *dockerRegistry) deny(w http.ResponseWriter, u *User, perm string, rt v2Route) {
	writeDistError(w, http.StatusForbidden, codeDenied,
		fmt.Sprintf("requested access to the resource is denied (user %q needs %s permission on %s)", u.Name, strings.ToUpper(perm), rt.repo),
		map[string]string{"name": rt.repo + "/" + rt.image})
}

// authorize authenticates r; without valid credentials it answers 401 with Artifactory's Bearer challenge.
func (d *dockerRegistry) authorize(w http.ResponseWriter, r *http.Request, repo, image string) (*User, bool) {
	u, res := d.e.auth.authenticate(r)
	if res == authOK {
		return u, true
	}
	realmRepo := repo
	if realmRepo == "" {
		realmRepo = "null"
	}
	ch := fmt.Sprintf(`Bearer realm="%s/artifactory/api/docker/%s/v2/token",service="%s"`, baseURL(r), realmRepo, r.Host)
	if image != "" {
		actions := "pull"
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			actions = "pull,push"
		}
		ch += fmt.Sprintf(`,scope="repository:%s:%s"`, image, actions)
	}
	w.Header().Set("WWW-Authenticate", ch)
	msg := "authentication required"
	if res == authBad {
		msg = "Bad credentials"
	}
	writeDistError(w, http.StatusUnauthorized, codeUnauthorized, msg, nil)
	return nil, false
}

func (d *dockerRegistry) serveBase(w http.ResponseWriter, r *http.Request) {
	if _, ok := d.authorize(w, r, "", ""); !ok {
		return
	}
	writeJSONCompact(w, http.StatusOK, struct{}{})
}

func writeJSONCompact(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeDistError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serveAPI handles /artifactory/api/docker/<rest>: the token endpoint and the V2 API under Artifactory's API path.
func (d *dockerRegistry) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	repo, after, _ := strings.Cut(rest, "/")
	if after == "v2/token" || after == "v2/token/" {
		d.serveToken(w, r)
		return
	}
	if after == "v2" || strings.HasPrefix(after, "v2/") {
		sub := strings.TrimPrefix(after, "v2")
		if sub == "" || sub == "/" {
			d.serve(w, r, "/")
			return
		}
		d.serve(w, r, "/"+repo+sub)
		return
	}
	writeErrors(w, http.StatusNotFound, "Not Found")
}

// serveToken is Artifactory's Docker token endpoint.
func (d *dockerRegistry) serveToken(w http.ResponseWriter, r *http.Request) {
	var (
		u   *User
		res authResult
	)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		u, res = d.e.auth.authenticate(r)
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			writeJSONCompact(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		probe, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "/", nil)
		switch r.PostForm.Get("grant_type") {
		case "password":
			probe.SetBasicAuth(r.PostForm.Get("username"), r.PostForm.Get("password"))
		case "refresh_token":
			probe.Header.Set("Authorization", "Bearer "+r.PostForm.Get("refresh_token"))
		default:
			if r.Header.Get("Authorization") == "" {
				writeJSONCompact(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
				return
			}
			probe.Header.Set("Authorization", r.Header.Get("Authorization"))
		}
		u, res = d.e.auth.authenticate(probe)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeErrors(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if res != authOK {
		w.Header().Set("WWW-Authenticate", `Basic realm="Artifactory Realm"`)
		writeJSONCompact(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "details": "BAD_CREDENTIAL"})
		return
	}
	tok := d.e.auth.issueDockerToken(u, dockerTokenTTL)
	out := map[string]any{
		"token": tok, "access_token": tok, "expires_in": int(dockerTokenTTL / time.Second),
		"issued_at": d.e.clock.Now().UTC().Format(time.RFC3339),
	}
	if r.Method == http.MethodPost {
		out["scope"] = r.PostForm.Get("scope")
	}
	writeJSONCompact(w, http.StatusOK, out)
}

// imageFolders returns the folders directly under an image (tag folders, digest folders, _uploads).
func (d *dockerRegistry) imageFolders(repo, image string) ([]*Item, bool) {
	kids, err := d.e.store.Children(repo, image)
	if err != nil {
		return nil, false
	}
	out := kids[:0]
	for _, k := range kids {
		if k.Folder {
			out = append(out, k)
		}
	}
	return out, true
}

// manifestIn returns the manifest file of a folder (manifest.json or list.manifest.json).
func (d *dockerRegistry) manifestIn(repo, folder string) (*Item, bool) {
	for _, n := range []string{manifestFile, listFile} {
		if it, ok := d.e.store.Get(repo, folder+"/"+n); ok && !it.Folder {
			return it, true
		}
	}
	return nil, false
}

// manifestWithSHA returns the manifest file of a folder whose sha256 is hexd: a tag folder may hold both
// manifest.json and list.manifest.json (see keepsList).
func (d *dockerRegistry) manifestWithSHA(repo, folder, hexd string) (*Item, bool) {
	for _, n := range []string{manifestFile, listFile} {
		if it, ok := d.e.store.Get(repo, folder+"/"+n); ok && !it.Folder && it.SHA256() == hexd {
			return it, true
		}
	}
	return nil, false
}

// tagManifest returns the manifest a pull of a tag gets. A tag folder holding both files (see keepsList) serves
// its list.manifest.json to a client that accepts an index (or names no type), and its manifest.json to one that
// accepts only image manifests. Which file Artifactory serves is not documented; every real client artprune is
// tested with accepts both, and resolves a platform from the index, so the index is what they see.
func (d *dockerRegistry) tagManifest(repo, folder, accept string) (*Item, bool) {
	list, hasList := d.e.store.Get(repo, folder+"/"+listFile)
	hasList = hasList && !list.Folder
	man, hasMan := d.e.store.Get(repo, folder+"/"+manifestFile)
	hasMan = hasMan && !man.Folder
	switch {
	case hasList && hasMan:
		if accept == "" || strings.Contains(accept, mediaTypeOCIIndex) || strings.Contains(accept, mediaTypeDockerList) || strings.Contains(accept, "*/*") {
			return list, true
		}
		return man, true
	case hasList:
		return list, true
	case hasMan:
		return man, true
	}
	return nil, false
}

// keepsList reports whether writing an image manifest to the tag folder keeps the folder's list.manifest.json.
// Source: JFrog KB "Artifactory duplicate Docker pushes with containerd image store enabled": with Docker's
// containerd image store (the default since Docker Desktop 4.34) docker push pushes a tag twice, as an index and
// then as the platform manifest, and the tree then shows both list.manifest.json and manifest.json under the tag;
// and KB "how to fix single architecture pushes failing to overwrite multi-architecture images": by default a
// single-architecture push does not overwrite a list. An index pushed to a tag still replaces the whole folder.
func keepsList(mt string, byTag bool) bool { return byTag && isImageType(mt) }

func isTagFolder(name string) bool {
	return name != uploadsFolder && !strings.HasPrefix(name, digestPrefix) && !strings.HasPrefix(name, blobPrefix)
}

// findBlob finds a file of the image with this sha256: in _uploads, tag folders or digest folders.
func (d *dockerRegistry) findBlob(repo, image, hexd string) (*Item, bool) {
	st := d.e.store
	if it, ok := st.Get(repo, image+"/"+uploadsFolder+"/"+blobPrefix+hexd); ok && !it.Folder && it.SHA256() == hexd {
		return it, true
	}
	folders, ok := d.imageFolders(repo, image)
	if !ok {
		return nil, false
	}
	// The layout names every file after its content (sha256__<hex>) except manifests, so looking up those three
	// names in each folder finds any file of the image with that content without listing the folders.
	for _, name := range []string{blobPrefix + hexd, manifestFile, listFile} {
		for _, f := range folders {
			if it, ok := st.Get(repo, f.FullPath()+"/"+name); ok && !it.Folder && it.SHA256() == hexd {
				return it, true
			}
		}
	}
	return nil, false
}

// findManifest finds a manifest of the image by digest: digest folders first, then tag folders.
func (d *dockerRegistry) findManifest(repo, image, hexd string) (*Item, bool) {
	for _, folder := range []string{digestPrefix + hexd, blobPrefix + hexd} {
		if it, ok := d.manifestWithSHA(repo, image+"/"+folder, hexd); ok {
			return it, true
		}
	}
	folders, ok := d.imageFolders(repo, image)
	if !ok {
		return nil, false
	}
	for _, f := range folders {
		if !isTagFolder(f.Name) {
			continue
		}
		if it, ok := d.manifestWithSHA(repo, f.FullPath(), hexd); ok {
			return it, true
		}
	}
	return nil, false
}

// manifestType returns the media type of a stored manifest.
func (d *dockerRegistry) manifestType(it *Item, body []byte) string {
	if v := it.Props["docker.manifest.type"]; len(v) > 0 && v[0] != "" {
		return v[0]
	}
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(body, &probe) == nil && probe.MediaType != "" {
		return probe.MediaType
	}
	if it.Name == listFile {
		return mediaTypeDockerList
	}
	return mediaTypeDockerManifest
}

// ---- manifests ----

func (d *dockerRegistry) getManifest(w http.ResponseWriter, r *http.Request, u *User, rt v2Route) {
	d.mu.RLock()
	var (
		it *Item
		ok bool
	)
	if strings.Contains(rt.arg, ":") {
		hexd, err := parseDigest(rt.arg)
		if err != nil {
			d.mu.RUnlock()
			writeDistError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), map[string]string{"digest": rt.arg})
			return
		}
		it, ok = d.findManifest(rt.repo, rt.image, hexd)
	} else if tagRE.MatchString(rt.arg) && isTagFolder(rt.arg) {
		it, ok = d.tagManifest(rt.repo, rt.image+"/"+rt.arg, strings.Join(r.Header.Values("Accept"), ","))
	}
	var body []byte
	if ok {
		var err error
		if body, err = d.e.store.Content(it); err != nil {
			ok = false
		}
	}
	d.mu.RUnlock()
	if !ok {
		writeDistError(w, http.StatusNotFound, codeManifestUnknown, "manifest unknown",
			map[string]string{"name": rt.repo + "/" + rt.image, "reference": rt.arg})
		return
	}
	h := w.Header()
	h.Set("Content-Type", d.manifestType(it, body))
	h.Set("Docker-Content-Digest", digestPrefix+it.SHA256())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("ETag", `"`+digestPrefix+it.SHA256()+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		d.recordPull(r, u, rt, it)
		_, _ = w.Write(body)
	}
}

// recordPull records the download statistics of a manifest GET (downloads.go): a pull by tag counts against the
// tag's manifest file; a pull by digest against every manifest file of the image with that digest, since
// Artifactory does not document which of them it serves.
func (d *dockerRegistry) recordPull(r *http.Request, u *User, rt v2Route, served *Item) {
	if !strings.Contains(rt.arg, ":") {
		d.e.recordDownload(r, u, rt.repo, served.FullPath())
		return
	}
	hexd := served.SHA256()
	folders, _ := d.imageFolders(rt.repo, rt.image)
	for _, f := range folders {
		if f.Name == uploadsFolder {
			continue
		}
		if m, ok := d.manifestIn(rt.repo, f.FullPath()); ok && m.SHA256() == hexd {
			d.e.recordDownload(r, u, rt.repo, m.FullPath())
		}
	}
}

// manifestDoc is the union of an image manifest and an index, to read the fields the registry checks.
type manifestDoc struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *v1.Descriptor    `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Manifests     []v1.Descriptor   `json:"manifests"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

func isIndexType(mt string) bool { return mt == mediaTypeOCIIndex || mt == mediaTypeDockerList }
func isImageType(mt string) bool { return mt == mediaTypeOCIManifest || mt == mediaTypeDockerManifest }
func isManifestType(mt string) bool {
	return isIndexType(mt) || isImageType(mt) || mt == mediaTypeDockerSchema1 || mt == mediaTypeDockerSchema1S
}

// plan of a manifest write.
type manifestWrite struct {
	folder    string   // image-relative folder path
	fileName  string   // manifest.json or list.manifest.json
	mediaType string   // media type stored
	blobs     []string // sha256 hex of the config and layers to link beside the manifest
}

func (d *dockerRegistry) putManifest(w http.ResponseWriter, r *http.Request, u *User, rt v2Route) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifestBytes+1))
	if err != nil {
		writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "failed to read the manifest: "+err.Error(), nil)
		return
	}
	if len(body) > maxManifestBytes {
		writeDistError(w, http.StatusRequestEntityTooLarge, codeManifestInvalid, fmt.Sprintf("manifest larger than %d bytes", maxManifestBytes), nil)
		return
	}
	hexd := sha256Hex(body)
	digest := digestPrefix + hexd
	var folderName, refName string
	if strings.Contains(rt.arg, ":") {
		want, err := parseDigest(rt.arg)
		if err != nil {
			writeDistError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), map[string]string{"digest": rt.arg})
			return
		}
		if want != hexd {
			writeDistError(w, http.StatusBadRequest, codeDigestInvalid, "manifest digest does not match the reference",
				map[string]string{"reference": rt.arg, "digest": digest})
			return
		}
		folderName, refName = digestPrefix+hexd, digest
	} else {
		if !tagRE.MatchString(rt.arg) || !isTagFolder(rt.arg) {
			writeDistError(w, http.StatusBadRequest, codeTagInvalid, "invalid tag", map[string]string{"tag": rt.arg})
			return
		}
		folderName, refName = rt.arg, rt.arg
	}
	var doc manifestDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "manifest is not valid JSON: "+err.Error(), nil)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	mt := doc.MediaType
	switch {
	case mt == "" && isManifestType(ct):
		mt = ct
	case mt != "" && isManifestType(ct) && ct != mt:
		writeDistError(w, http.StatusBadRequest, codeManifestInvalid,
			fmt.Sprintf("Content-Type %s does not match the manifest's mediaType %s", ct, mt), nil)
		return
	}
	switch {
	case mt == mediaTypeDockerSchema1 || mt == mediaTypeDockerSchema1S:
		writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "Docker V2 schema 1 manifests are blocked in this repository (blockPushingSchema1)", nil)
		return
	case mt == "":
		writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "manifest media type unknown: set Content-Type or mediaType", nil)
		return
	case !isImageType(mt) && !isIndexType(mt):
		writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "unsupported manifest media type "+mt, map[string]string{"mediaType": mt})
		return
	}
	if doc.SchemaVersion == nil || *doc.SchemaVersion != 2 {
		writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "schemaVersion must be 2", nil)
		return
	}
	// Validate every descriptor's digest.
	var descs []v1.Descriptor
	if isImageType(mt) {
		if doc.Config == nil || doc.Config.Digest == "" {
			writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "image manifest without config", nil)
			return
		}
		if doc.Manifests != nil {
			writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "image manifest with a manifests field", nil)
			return
		}
		descs = append(append(descs, *doc.Config), doc.Layers...)
	} else {
		if doc.Config != nil || doc.Layers != nil {
			writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "index with config or layers", nil)
			return
		}
		descs = doc.Manifests
	}
	all := descs
	if doc.Subject != nil {
		all = append(slices.Clone(descs), *doc.Subject)
	}
	for _, dsc := range all {
		if _, err := parseDigest(string(dsc.Digest)); err != nil {
			writeDistError(w, http.StatusBadRequest, codeDigestInvalid, "descriptor: "+err.Error(), map[string]string{"digest": string(dsc.Digest)})
			return
		}
		if dsc.Size < 0 {
			writeDistError(w, http.StatusBadRequest, codeManifestInvalid, "descriptor with a negative size", map[string]string{"digest": string(dsc.Digest)})
			return
		}
	}

	plan := manifestWrite{folder: rt.image + "/" + folderName, mediaType: mt}
	if isIndexType(mt) {
		plan.fileName = listFile
	} else {
		plan.fileName = manifestFile
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.e.store
	var (
		errs     []distError
		blobItem = map[string]*Item{}
		rescue   []*Item // child manifests found only in the folder about to be replaced
	)
	if isImageType(mt) {
		for _, dsc := range descs {
			h := strings.TrimPrefix(string(dsc.Digest), digestPrefix)
			if _, seen := blobItem[h]; seen {
				continue
			}
			if len(dsc.URLs) > 0 && isNonDistributable(dsc.MediaType) {
				continue // foreign layers are not in the registry
			}
			it, ok := d.findBlob(rt.repo, rt.image, h)
			if !ok {
				errs = append(errs, distError{Code: codeManifestBlobUnknown, Message: "blob unknown to registry", Detail: map[string]string{"digest": string(dsc.Digest)}})
				continue
			}
			blobItem[h] = it
			plan.blobs = append(plan.blobs, h)
		}
	} else {
		for _, dsc := range descs {
			h := strings.TrimPrefix(string(dsc.Digest), digestPrefix)
			if isManifestType(dsc.MediaType) || dsc.MediaType == "" {
				it, ok := d.findManifest(rt.repo, rt.image, h)
				if !ok {
					errs = append(errs, distError{Code: codeManifestBlobUnknown, Message: "manifest unknown to registry", Detail: map[string]string{"digest": string(dsc.Digest)}})
					continue
				}
				if it.Path == plan.folder && h != hexd {
					if _, ok := d.manifestIn(rt.repo, rt.image+"/"+digestPrefix+h); !ok {
						rescue = append(rescue, it)
					}
				}
			} else if _, ok := d.findBlob(rt.repo, rt.image, h); !ok {
				errs = append(errs, distError{Code: codeManifestBlobUnknown, Message: "blob unknown to registry", Detail: map[string]string{"digest": string(dsc.Digest)}})
			}
		}
	}
	if len(errs) > 0 {
		writeDistErrors(w, http.StatusBadRequest, errs...)
		return
	}

	props := map[string][]string{
		"docker.manifest":        {refName},
		"docker.manifest.digest": {digest},
		"docker.manifest.type":   {mt},
		"docker.repoName":        {rt.image},
		"sha256":                 {hexd},
	}
	if isImageType(mt) {
		for k, v := range d.configLabels(strings.TrimPrefix(string(doc.Config.Digest), digestPrefix)) {
			props["docker.label."+k] = []string{v}
		}
	}

	// Pin the binaries that must survive the folder's replacement, then replace it.
	pins := slices.Clone(plan.blobs)
	for _, it := range rescue {
		pins = append(pins, it.SHA256())
	}
	missing, release := st.pinBlobs(pins)
	defer release()
	fallback := map[string][]byte{}
	for _, h := range missing { // a binary not in the content store index: copy the bytes of the path that holds it
		if it, ok := blobItem[h]; ok {
			if data, err := st.Content(it); err == nil {
				fallback[h] = data
			}
		}
	}
	for _, it := range rescue {
		if err := d.rescueChild(rt, it); err != nil {
			writeDistError(w, http.StatusInternalServerError, "UNKNOWN", "copy of child manifest: "+err.Error(), nil)
			return
		}
	}
	if err := d.clearForWrite(rt.repo, plan.folder, keepsList(mt, !strings.HasPrefix(folderName, digestPrefix))); err != nil {
		writeDistError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
		return
	}
	now := d.e.clock.Now()
	if _, err := st.PutFile(FileSpec{Repo: rt.repo, Path: plan.folder + "/" + plan.fileName, Data: body, Props: props, By: u.Name, Created: now}); err != nil {
		writeDistError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
		return
	}
	for _, h := range plan.blobs {
		spec := FileSpec{Repo: rt.repo, Path: plan.folder + "/" + blobPrefix + h, Blob: h, By: u.Name, Created: now}
		if data, ok := fallback[h]; ok {
			spec.Blob, spec.Data = "", data
		}
		if _, err := st.PutFile(spec); err != nil {
			writeDistError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
			return
		}
	}
	h := w.Header()
	h.Set("Location", "/v2/"+rt.repo+"/"+rt.image+"/manifests/"+digest)
	h.Set("Docker-Content-Digest", digest)
	if doc.Subject != nil && d.referrers.Load() {
		h.Set("OCI-Subject", string(doc.Subject.Digest))
	}
	w.WriteHeader(http.StatusCreated)
}

// clearForWrite empties the folder a manifest is written to: all of it, or, when keepList, all but its
// list.manifest.json (see keepsList).
func (d *dockerRegistry) clearForWrite(repo, folder string, keepList bool) error {
	st := d.e.store
	if keepList {
		if it, ok := st.Get(repo, folder+"/"+listFile); ok && !it.Folder {
			kids, err := st.Children(repo, folder)
			if err != nil {
				return err
			}
			for _, k := range kids {
				if k.Name == listFile {
					continue
				}
				if _, err := st.Delete(repo, k.FullPath()); err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
			}
			return nil
		}
	}
	if _, err := st.Delete(repo, folder); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

func isNonDistributable(mt string) bool {
	return strings.Contains(mt, "nondistributable") || strings.Contains(mt, "foreign")
}

// rescueChild copies a child manifest that lives only in the folder about to be replaced to its digest folder, so
// that the index being written does not dangle.
func (d *dockerRegistry) rescueChild(rt v2Route, it *Item) error {
	st := d.e.store
	h := it.SHA256()
	dst := rt.image + "/" + digestPrefix + h
	files, err := st.Children(rt.repo, it.Path)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.Folder || (f.Name != it.Name && !strings.HasPrefix(f.Name, blobPrefix)) {
			continue
		}
		props := cloneProps(f.Props)
		if f.Name == it.Name {
			if props == nil {
				props = map[string][]string{}
			}
			props["docker.manifest"] = []string{digestPrefix + h}
		}
		if _, err := st.PutFile(FileSpec{Repo: rt.repo, Path: dst + "/" + f.Name, Blob: f.SHA256(), Props: props, By: f.CreatedBy}); err != nil {
			return err
		}
	}
	return nil
}

// configLabels reads the labels of an image config, when it is a readable JSON document.
func (d *dockerRegistry) configLabels(hexd string) map[string]string {
	data, ok := d.e.store.BlobContent(hexd)
	if !ok || len(data) > maxLabelConfig || sha256Hex(data) != hexd {
		return nil
	}
	var cfg struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if json.Unmarshal(data, &cfg) != nil {
		return nil
	}
	return cfg.Config.Labels
}

// deleteManifest models Artifactory: by digest it removes the digest folder and every tag folder of the image whose
// manifest has that digest; by tag it removes that tag folder.
func (d *dockerRegistry) deleteManifest(w http.ResponseWriter, u *User, rt v2Route) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.e.store
	unknown := func() {
		writeDistError(w, http.StatusNotFound, codeManifestUnknown, "manifest unknown",
			map[string]string{"name": rt.repo + "/" + rt.image, "reference": rt.arg})
	}
	if !strings.Contains(rt.arg, ":") {
		if !tagRE.MatchString(rt.arg) || !isTagFolder(rt.arg) {
			unknown()
			return
		}
		folder := rt.image + "/" + rt.arg
		if _, ok := d.manifestIn(rt.repo, folder); !ok {
			unknown()
			return
		}
		if _, err := st.DeleteAs(rt.repo, folder, u.Name); err != nil && !errors.Is(err, ErrNotFound) {
			writeDistError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	hexd, err := parseDigest(rt.arg)
	if err != nil {
		writeDistError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), map[string]string{"digest": rt.arg})
		return
	}
	var targets []string
	found := false
	digestFolder := rt.image + "/" + digestPrefix + hexd
	if f, ok := st.Get(rt.repo, digestFolder); ok && f.Folder {
		targets = append(targets, digestFolder)
		if _, ok := d.manifestWithSHA(rt.repo, digestFolder, hexd); ok {
			found = true
		}
	}
	folders, _ := d.imageFolders(rt.repo, rt.image)
	for _, f := range folders {
		if !isTagFolder(f.Name) {
			continue
		}
		if _, ok := d.manifestWithSHA(rt.repo, f.FullPath(), hexd); ok {
			targets = append(targets, f.FullPath())
			found = true
		}
	}
	if !found {
		unknown()
		return
	}
	for _, t := range targets {
		if _, err := st.DeleteAs(rt.repo, t, u.Name); err != nil && !errors.Is(err, ErrNotFound) {
			writeDistError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
			return
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// ---- blobs ----

func (d *dockerRegistry) getBlob(w http.ResponseWriter, r *http.Request, rt v2Route) {
	hexd, err := parseDigest(rt.arg)
	if err != nil {
		writeDistError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), map[string]string{"digest": rt.arg})
		return
	}
	it, ok := d.findBlob(rt.repo, rt.image, hexd)
	var data []byte
	if ok {
		data, err = d.e.store.Content(it)
		ok = err == nil
	}
	if !ok {
		writeDistError(w, http.StatusNotFound, codeBlobUnknown, "blob unknown to registry", map[string]string{"digest": rt.arg})
		return
	}
	h := w.Header()
	h.Set("Docker-Content-Digest", digestPrefix+hexd)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+digestPrefix+hexd+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// ---- uploads ----

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

func uploadRange(n int) string {
	if n > 0 {
		n--
	}
	return "0-" + strconv.Itoa(n)
}

func (d *dockerRegistry) uploadLocation(s *uploadSession) string {
	return "/v2/" + s.repo + "/" + s.image + "/blobs/uploads/" + s.id
}

// newSession opens an upload session, evicting expired and, past the bound, the oldest sessions.
func (d *dockerRegistry) newSession(rt v2Route, u *User) *uploadSession {
	s := &uploadSession{id: newUUID(), repo: rt.repo, image: rt.image, user: u.Name, started: time.Now()}
	d.upMu.Lock()
	defer d.upMu.Unlock()
	for id, old := range d.uploads {
		if time.Since(old.started) > uploadSessionTTL {
			delete(d.uploads, id)
		}
	}
	for len(d.uploads) >= maxUploadSessions {
		var oldest *uploadSession
		for _, o := range d.uploads {
			if oldest == nil || o.started.Before(oldest.started) {
				oldest = o
			}
		}
		delete(d.uploads, oldest.id)
	}
	d.uploads[s.id] = s
	return s
}

func (d *dockerRegistry) session(rt v2Route) (*uploadSession, bool) {
	d.upMu.Lock()
	defer d.upMu.Unlock()
	s, ok := d.uploads[rt.arg]
	if !ok || s.repo != rt.repo || s.image != rt.image {
		return nil, false
	}
	return s, true
}

func (d *dockerRegistry) dropSession(id string) {
	d.upMu.Lock()
	defer d.upMu.Unlock()
	delete(d.uploads, id)
}

func (d *dockerRegistry) writeSessionStatus(w http.ResponseWriter, s *uploadSession, n int, status int) {
	h := w.Header()
	h.Set("Location", d.uploadLocation(s))
	h.Set("Docker-Upload-UUID", s.id)
	h.Set("Range", uploadRange(n))
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
}

// storeBlob writes an uploaded blob to <image>/_uploads/sha256__<hex> (data, or an existing binary when data is nil).
func (d *dockerRegistry) storeBlob(rt v2Route, user, hexd string, data []byte) error {
	d.blobMu.Lock()
	defer d.blobMu.Unlock()
	p := rt.image + "/" + uploadsFolder + "/" + blobPrefix + hexd
	if it, ok := d.e.store.Get(rt.repo, p); ok && !it.Folder && it.SHA256() == hexd {
		return nil // already there: never overwrite a file with itself
	}
	spec := FileSpec{Repo: rt.repo, Path: p, Data: data, By: user}
	if data == nil {
		spec.Blob = hexd
	}
	_, err := d.e.store.PutFile(spec)
	return err
}

func (d *dockerRegistry) blobCreated(w http.ResponseWriter, rt v2Route, hexd string) {
	h := w.Header()
	h.Set("Location", "/v2/"+rt.repo+"/"+rt.image+"/blobs/"+digestPrefix+hexd)
	h.Set("Docker-Content-Digest", digestPrefix+hexd)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func readUploadBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		writeDistError(w, http.StatusBadRequest, codeBlobUploadInvalid, "failed to read the upload: "+err.Error(), nil)
		return nil, false
	}
	if len(data) > limit {
		writeDistError(w, http.StatusRequestEntityTooLarge, codeSizeInvalid, fmt.Sprintf("uploads are limited to %d bytes", maxUploadBytes), nil)
		return nil, false
	}
	return data, true
}

func (d *dockerRegistry) startUpload(w http.ResponseWriter, r *http.Request, u *User, rt v2Route) {
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		hexd, err := parseDigest(mount)
		if err != nil {
			writeDistError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), map[string]string{"digest": mount})
			return
		}
		if d.tryMount(u, rt, q.Get("from"), hexd) {
			d.blobCreated(w, rt, hexd)
			return
		}
		// Not mountable: fall back to an ordinary upload session.
	} else if dg := q.Get("digest"); dg != "" {
		hexd, err := parseDigest(dg)
		if err != nil {
			writeDistError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), map[string]string{"digest": dg})
			return
		}
		data, ok := readUploadBody(w, r, maxUploadBytes)
		if !ok {
			return
		}
		if got := sha256Hex(data); got != hexd {
			writeDistError(w, http.StatusBadRequest, codeDigestInvalid, "provided digest did not match uploaded content",
				map[string]string{"digest": dg, "actual": digestPrefix + got})
			return
		}
		if err := d.storeBlob(rt, u.Name, hexd, data); err != nil {
			writeDistError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
			return
		}
		d.blobCreated(w, rt, hexd)
		return
	}
	data, ok := readUploadBody(w, r, maxUploadBytes)
	if !ok {
		return
	}
	s := d.newSession(rt, u)
	s.data = data
	d.writeSessionStatus(w, s, len(data), http.StatusAccepted)
}

// tryMount links a blob of another image of the same repository into this image's _uploads.
func (d *dockerRegistry) tryMount(u *User, rt v2Route, from, hexd string) bool {
	if !u.can(PermRead) {
		return false
	}
	if it, ok := d.findBlob(rt.repo, rt.image, hexd); ok && it.SHA256() == hexd {
		return true // already in this image
	}
	fromRepo, fromImage, ok := strings.Cut(from, "/")
	if !ok || fromRepo != rt.repo || !validImage(fromImage) {
		return false
	}
	if _, ok := d.findBlob(rt.repo, fromImage, hexd); !ok {
		return false
	}
	return d.storeBlob(rt, u.Name, hexd, nil) == nil
}

// parseContentRange parses "start-end" (optionally prefixed by "bytes ", as some clients send it).
func parseContentRange(s string) (start, end int64, ok bool) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "bytes"))
	s = strings.TrimSpace(strings.TrimPrefix(s, "="))
	s, _, _ = strings.Cut(s, "/")
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	end, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	return start, end, true
}

func (d *dockerRegistry) serveUpload(w http.ResponseWriter, r *http.Request, u *User, rt v2Route) {
	s, ok := d.session(rt)
	if !ok {
		writeDistError(w, http.StatusNotFound, codeBlobUploadUnknown, "blob upload unknown to registry", map[string]string{"uuid": rt.arg})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		writeDistError(w, http.StatusNotFound, codeBlobUploadUnknown, "blob upload unknown to registry", map[string]string{"uuid": rt.arg})
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		d.writeSessionStatus(w, s, len(s.data), http.StatusNoContent)
	case http.MethodDelete:
		s.done = true
		d.dropSession(s.id)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPatch, http.MethodPut:
		if !d.appendChunk(w, r, s) {
			return
		}
		if r.Method == http.MethodPatch {
			d.writeSessionStatus(w, s, len(s.data), http.StatusAccepted)
			return
		}
		dg := r.URL.Query().Get("digest")
		hexd, err := parseDigest(dg)
		if err != nil {
			writeDistError(w, http.StatusBadRequest, codeDigestInvalid, "digest parameter: "+err.Error(), map[string]string{"digest": dg})
			return
		}
		s.done = true
		d.dropSession(s.id)
		if got := sha256Hex(s.data); got != hexd {
			writeDistError(w, http.StatusBadRequest, codeDigestInvalid, "provided digest did not match uploaded content",
				map[string]string{"digest": dg, "actual": digestPrefix + got})
			return
		}
		if err := d.storeBlob(rt, u.Name, hexd, s.data); err != nil {
			writeDistError(w, http.StatusInternalServerError, "UNKNOWN", err.Error(), nil)
			return
		}
		d.blobCreated(w, rt, hexd)
	default:
		methodNotAllowed(w, "GET, PATCH, PUT, DELETE")
	}
}

// appendChunk appends the request body to the session, honouring Content-Range.
func (d *dockerRegistry) appendChunk(w http.ResponseWriter, r *http.Request, s *uploadSession) bool {
	cr := r.Header.Get("Content-Range")
	var start, end int64
	if cr != "" {
		var ok bool
		if start, end, ok = parseContentRange(cr); !ok || start != int64(len(s.data)) {
			w.Header().Set("Location", d.uploadLocation(s))
			w.Header().Set("Range", uploadRange(len(s.data)))
			w.Header().Set("Docker-Upload-UUID", s.id)
			writeDistError(w, http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid,
				fmt.Sprintf("Content-Range %q does not continue the upload at offset %d", cr, len(s.data)), nil)
			return false
		}
	}
	chunk, ok := readUploadBody(w, r, maxUploadBytes-len(s.data))
	if !ok {
		return false
	}
	if cr != "" && len(chunk) > 0 && end-start+1 != int64(len(chunk)) {
		w.Header().Set("Location", d.uploadLocation(s))
		w.Header().Set("Range", uploadRange(len(s.data)))
		writeDistError(w, http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid,
			fmt.Sprintf("Content-Range %q does not match the %d bytes sent", cr, len(chunk)), nil)
		return false
	}
	s.data = append(s.data, chunk...)
	return true
}

// ---- tags, catalog, referrers ----

// pageParams parses n and last.
func pageParams(w http.ResponseWriter, r *http.Request) (n int, last string, ok bool) {
	q := r.URL.Query()
	n = -1
	if s := q.Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			writeDistError(w, http.StatusBadRequest, codePaginationInvalid, "invalid number of results requested", map[string]string{"n": s})
			return 0, "", false
		}
		n = v
	}
	return n, q.Get("last"), true
}

// page applies n and last to a sorted list and reports whether more follow.
func page(all []string, n int, last string) ([]string, bool) {
	if last != "" {
		i, _ := slices.BinarySearch(all, last)
		for i < len(all) && all[i] <= last {
			i++
		}
		all = all[i:]
	}
	if n >= 0 && len(all) > n {
		return all[:n], true
	}
	return all, false
}

func (d *dockerRegistry) serveTags(w http.ResponseWriter, r *http.Request, rt v2Route) {
	n, last, ok := pageParams(w, r)
	if !ok {
		return
	}
	d.mu.RLock()
	folders, ok := d.imageFolders(rt.repo, rt.image)
	tags := []string{}
	for _, f := range folders {
		if !isTagFolder(f.Name) {
			continue
		}
		if _, ok := d.manifestIn(rt.repo, f.FullPath()); ok {
			tags = append(tags, f.Name)
		}
	}
	d.mu.RUnlock()
	if !ok {
		writeDistError(w, http.StatusNotFound, codeNameUnknown, "repository name not known to registry", map[string]string{"name": rt.repo + "/" + rt.image})
		return
	}
	slices.Sort(tags)
	out, more := page(tags, n, last)
	if more && len(out) > 0 {
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/%s/tags/list?n=%d&last=%s>; rel="next"`, rt.repo, rt.image, n, url.QueryEscape(out[len(out)-1])))
	}
	if out == nil {
		out = []string{}
	}
	writeJSONCompact(w, http.StatusOK, map[string]any{"name": rt.repo + "/" + rt.image, "tags": out})
}

func (d *dockerRegistry) serveCatalog(w http.ResponseWriter, r *http.Request, u *User) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET")
		return
	}
	if !u.can(PermRead) {
		writeDistError(w, http.StatusForbidden, codeDenied, "requested access to the resource is denied", nil)
		return
	}
	n, last, ok := pageParams(w, r)
	if !ok {
		return
	}
	set := map[string]bool{}
	for _, repo := range d.e.store.Repos() {
		if repo.PackageType != PackageDocker || !u.seesRepo(repo.Key) {
			continue
		}
		_ = d.e.store.Walk(repo.Key, "", func(it *Item) bool {
			if !it.Folder && (it.Name == manifestFile || it.Name == listFile) {
				if parent, folder := splitPath(it.Path); parent != "." && folder != uploadsFolder {
					set[repo.Key+"/"+parent] = true
				}
			}
			return true
		})
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	slices.Sort(names)
	out, more := page(names, n, last)
	if more && len(out) > 0 {
		w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?n=%d&last=%s>; rel="next"`, n, url.QueryEscape(out[len(out)-1])))
	}
	if out == nil {
		out = []string{}
	}
	writeJSONCompact(w, http.StatusOK, map[string]any{"repositories": out})
}

func (d *dockerRegistry) serveReferrers(w http.ResponseWriter, r *http.Request, rt v2Route) {
	if !d.referrers.Load() {
		writeDistError(w, http.StatusNotFound, codeUnsupported, "the referrers API is not enabled", nil)
		return
	}
	hexd, err := parseDigest(rt.arg)
	if err != nil {
		writeDistError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), map[string]string{"digest": rt.arg})
		return
	}
	want := digestPrefix + hexd
	filter := r.URL.Query().Get("artifactType")
	type found struct {
		it   *Item
		body []byte
	}
	var files []found
	d.mu.RLock()
	folders, _ := d.imageFolders(rt.repo, rt.image)
	for _, f := range folders {
		if f.Name == uploadsFolder {
			continue
		}
		for _, n := range []string{manifestFile, listFile} {
			it, ok := d.e.store.Get(rt.repo, f.FullPath()+"/"+n)
			if !ok || it.Folder {
				continue
			}
			if body, err := d.e.store.Content(it); err == nil {
				files = append(files, found{it, body})
			}
		}
	}
	d.mu.RUnlock()
	seen := map[string]bool{}
	manifests := []v1.Descriptor{}
	for _, f := range files {
		var doc manifestDoc
		if json.Unmarshal(f.body, &doc) != nil || doc.Subject == nil || string(doc.Subject.Digest) != want {
			continue
		}
		dg := digestPrefix + f.it.SHA256()
		if seen[dg] {
			continue
		}
		seen[dg] = true
		at := doc.ArtifactType
		if at == "" && doc.Config != nil {
			at = doc.Config.MediaType
		}
		if filter != "" && at != filter {
			continue
		}
		desc := v1.Descriptor{MediaType: d.manifestType(f.it, f.body), ArtifactType: at, Size: int64(len(f.body)), Annotations: doc.Annotations}
		desc.Digest = godigest.Digest(dg)
		manifests = append(manifests, desc)
	}
	slices.SortFunc(manifests, func(a, b v1.Descriptor) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", mediaTypeOCIIndex)
	idx := v1.Index{MediaType: mediaTypeOCIIndex, Manifests: manifests}
	idx.SchemaVersion = 2
	writeJSONCompact(w, http.StatusOK, idx)
}
