package prune

import (
	"encoding/json"
	"errors"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The fuzz targets of this file run briefly in CI (make fuzz); their seed corpora are in testdata/fuzz/<name>/ and
// in the f.Add calls below. Each checks properties, not just the absence of panics.

var knownMediaTypes = []string{
	ocispec.MediaTypeImageIndex, mediaTypeDockerList, ocispec.MediaTypeImageManifest, mediaTypeDockerManifest,
	mediaTypeDockerSchema1, mediaTypeDockerSchema1JWS,
}

// lookupFold returns the value of the key of obj equal to key ignoring case, as encoding/json matches fields.
func lookupFold(obj map[string]any, key string) (any, bool) {
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// referencedDigests returns, from a generic decoding of an accepted document, the digests of its "manifests"
// entries and of its subject: what any parser that ignores case sees.
func referencedDigests(t *testing.T, b []byte) (children []string, subject string) {
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("an accepted document does not decode generically: %v", err)
	}
	if ms, ok := lookupFold(top, "manifests"); ok {
		list, _ := ms.([]any)
		for _, m := range list {
			obj, _ := m.(map[string]any)
			d, _ := lookupFold(obj, "digest")
			s, _ := d.(string)
			children = append(children, s)
		}
	}
	if sub, ok := lookupFold(top, "subject"); ok {
		obj, _ := sub.(map[string]any)
		d, _ := lookupFold(obj, "digest")
		subject, _ = d.(string)
	}
	return children, subject
}

// names reports whether err's message holds s, as is or quoted with %q.
func names(err error, s string) bool {
	return strings.Contains(err.Error(), s) || strings.Contains(err.Error(), strconv.Quote(s))
}

func isCanonicalSHA256(d digest.Digest) bool {
	hex, ok := strings.CutPrefix(string(d), "sha256:")
	return ok && isSHA256Hex(hex)
}

func FuzzParseDocument(f *testing.F) {
	a, b := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	for _, s := range []string{
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + a + `"}]}`,
		`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"digest":"` + a + `"},{"digest":"` + a + `"}]}`,
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"` + a + `"},"layers":[],"subject":{"digest":"` + b + `"}}`,
		`{"schemaVersion":2,"manifests":[{"digest":"` + a + `"}],"Manifests":[]}`,
		`{"schemaVersion":1,"fsLayers":[]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"sha512:` + strings.Repeat("a", 128) + `"}]}`,
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + a[:40],
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"schemaVersion":2,"manifests":[]} {"schemaVersion":2,"manifests":[{"digest":"` + a + `"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := parseDocument(b)
		if err != nil {
			if doc != nil || !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("error %v (doc %v), want only an error wrapping ErrInvalidDocument", err, doc)
			}
			return
		}
		if !slices.Contains(knownMediaTypes, doc.mediaType) {
			t.Fatalf("accepted unknown media type %q", doc.mediaType)
		}
		if isIndex := doc.mediaType == ocispec.MediaTypeImageIndex || doc.mediaType == mediaTypeDockerList; doc.index != isIndex {
			t.Fatalf("media type %q with index=%v", doc.mediaType, doc.index)
		}
		if !json.Valid(b) || checkUnambiguous(b) != nil {
			t.Fatalf("accepted a document that is not one unambiguous JSON value")
		}
		for _, c := range doc.children {
			if !isCanonicalSHA256(c) {
				t.Fatalf("accepted child reference %q", c)
			}
		}
		if doc.subject != "" && !isCanonicalSHA256(doc.subject) {
			t.Fatalf("accepted subject %q", doc.subject)
		}
		if doc.mediaType == mediaTypeDockerSchema1 || doc.mediaType == mediaTypeDockerSchema1JWS {
			return // schema 1 references nothing by manifest digest
		}
		// No reference is lost: the references match what a parser that ignores case sees.
		children, subject := referencedDigests(t, b)
		if doc.index {
			got := make([]string, len(doc.children))
			for i, c := range doc.children {
				got[i] = string(c)
			}
			if !slices.Equal(got, children) {
				t.Fatalf("children %v, but the document lists %v", got, children)
			}
		}
		if string(doc.subject) != subject {
			t.Fatalf("subject %q, but the document has %q", doc.subject, subject)
		}
	})
}

// checkAccepted fails unless folder is exactly <image>/sha256:<64 lowercase hex> with clean segments that need no
// escaping in a URL.
func checkAccepted(t *testing.T, repo, folder string) {
	t.Helper()
	segs := strings.Split(folder, "/")
	if len(segs) < 2 {
		t.Fatalf("accepted %q: no image", folder)
	}
	if leaf := segs[len(segs)-1]; !isDigestFolderName(leaf) {
		t.Fatalf("accepted %q: leaf %q is not sha256:<64 lowercase hex>", folder, leaf)
	}
	if path.Clean(folder) != folder || strings.HasPrefix(folder, "/") || path.Clean(repo) != repo {
		t.Fatalf("accepted %q/%q: not a clean relative path", repo, folder)
	}
	for _, s := range append([]string{repo}, segs...) {
		if s == "" || s == "." || s == ".." || s == uploadsSegment || url.PathEscape(s) != s {
			t.Fatalf("accepted %q/%q: segment %q", repo, folder, s)
		}
	}
	for _, s := range segs[:len(segs)-1] {
		if !isNameComponent(s) || strings.Contains(s, ":") {
			t.Fatalf("accepted %q: image segment %q is not a Docker name component", folder, s)
		}
	}
	u, err := url.Parse("https://example.com/artifactory/" + repo + "/" + folder + "/")
	if err != nil || u.Path != "/artifactory/"+repo+"/"+folder+"/" {
		t.Fatalf("accepted %q/%q, which does not survive a URL round trip: %v %q", repo, folder, err, u)
	}
}

func FuzzValidateFolderPath(f *testing.F) {
	dig := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	for _, s := range [][2]string{
		{"docker-local", "app/" + dig}, {"docker-local", "team/sub/app/" + dig}, {"docker-local", "app/../" + dig},
		{"docker-local", "app/%2e%2e/" + dig}, {"docker-local", "my app/" + dig}, {"docker-local", "äpp/" + dig},
		{"docker-local", "sha256:" + dig[7:] + "/" + dig}, {"docker-local", "app/" + dig + "/" + dig},
		{"docker local", "app/" + dig}, {"..", "app/" + dig}, {"docker-local", "a__b.c--d/" + dig},
		{"docker-local", "app/" + strings.ToUpper(dig)}, {"docker-local", "app/_uploads/" + dig},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, repo, folder string) {
		err := ValidateFolderPath(repo, folder)
		if err != nil {
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("error %v does not wrap ErrUnsafePath", err)
			}
			if folder != "" && !names(err, folder) && !names(err, repo) {
				t.Fatalf("error %q names neither the repository nor the folder", err)
			}
			return
		}
		checkAccepted(t, repo, folder)
		if class, image, leaf, cerr := classify(folder); class != classDigest || cerr != nil || image+"/"+leaf != folder {
			t.Fatalf("the guard accepts %q but classify says %v %q %q %v", folder, class, image, leaf, cerr)
		}
	})
}

func FuzzClassify(f *testing.F) {
	dig := "sha256:" + strings.Repeat("f", 64)
	for _, s := range []string{
		".", "", "latest", dig, "app/latest", "app/" + dig, "team/app/" + dig, "app/_uploads/x", "app//latest",
		"app/latest/", "app/./" + dig, "app/%2e%2e/" + dig, "app /" + dig, "app/my tag", "ápp/" + dig,
		"app/sha256:" + strings.Repeat("F", 64), dig + "/" + dig, "app/" + dig + "/latest", "app\u202e/" + dig,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, folder string) {
		class, image, leaf, err := classify(folder)
		if err != nil && !errors.Is(err, ErrUnsafePath) {
			t.Fatalf("classify(%q): error %v does not wrap ErrUnsafePath", folder, err)
		}
		if err != nil && !names(err, folder) {
			t.Fatalf("classify(%q): error %q does not name the folder", folder, err)
		}
		segs := strings.Split(folder, "/")
		ignored := folder != "" && folder != "." && slices.Contains(segs, uploadsSegment)
		if (class == classIgnored) != ignored {
			t.Fatalf("classify(%q) = %v; ignored should be %v", folder, class, ignored)
		}
		switch class {
		case classOutside, classIgnored:
			if image != "" || leaf != "" || err != nil {
				t.Fatalf("classify(%q) = %v %q %q %v", folder, class, image, leaf, err)
			}
		case classTag, classDigest:
			if image+"/"+leaf != folder {
				t.Fatalf("classify(%q): image %q and leaf %q do not make the folder", folder, image, leaf)
			}
			if (class == classDigest) != isDigestFolderName(leaf) {
				t.Fatalf("classify(%q) = %v for leaf %q", folder, class, leaf)
			}
			guard := ValidateFolderPath("docker-local", folder)
			if class == classDigest && (err == nil) != (guard == nil) {
				t.Fatalf("classify(%q) error %v, but the guard says %v: a plan could hinge on a path the guard refuses", folder, err, guard)
			}
			if class == classTag && guard == nil {
				t.Fatalf("the guard accepts tag folder %q", folder)
			}
		}
	})
}
