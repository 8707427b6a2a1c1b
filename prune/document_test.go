package prune

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

func TestParseDocument(t *testing.T) {
	a := "sha256:" + strings.Repeat("a", 64)
	b := "sha256:" + strings.Repeat("b", 64)
	cfg := `"config":{"mediaType":"x","digest":"` + a + `","size":1}`
	tests := []struct {
		name      string
		body      string
		mediaType string
		index     bool
		children  []string
		subject   string
		wantErr   bool
	}{
		{name: "oci index", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + a + `"},{"digest":"` + b + `"}]}`,
			mediaType: "application/vnd.oci.image.index.v1+json", index: true, children: []string{a, b}},
		{name: "oci index with subject", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"subject":{"digest":"` + b + `"}}`,
			mediaType: "application/vnd.oci.image.index.v1+json", index: true, subject: b},
		{name: "docker list", body: `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"digest":"` + a + `"}]}`,
			mediaType: "application/vnd.docker.distribution.manifest.list.v2+json", index: true, children: []string{a}},
		{name: "oci index without media type", body: `{"schemaVersion":2,"manifests":[{"digest":"` + a + `"}]}`,
			mediaType: "application/vnd.oci.image.index.v1+json", index: true, children: []string{a}},
		{name: "oci manifest with subject", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` + cfg + `,"layers":[],"subject":{"digest":"` + b + `"}}`,
			mediaType: "application/vnd.oci.image.manifest.v1+json", subject: b},
		{name: "oci manifest without media type", body: `{"schemaVersion":2,` + cfg + `,"layers":[]}`, mediaType: "application/vnd.oci.image.manifest.v1+json"},
		{name: "docker v2 manifest", body: `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` + cfg + `,"layers":[]}`,
			mediaType: "application/vnd.docker.distribution.manifest.v2+json"},
		{name: "schema1", body: `{"schemaVersion":1,"name":"app","fsLayers":[]}`, mediaType: "application/vnd.docker.distribution.manifest.v1+json"},
		{name: "schema1 signed", body: `{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}`,
			mediaType: "application/vnd.docker.distribution.manifest.v1+prettyjws"},

		{name: "not json", body: `<html>`, wantErr: true},
		{name: "json array", body: `[1]`, wantErr: true},
		{name: "trailing garbage", body: `{"schemaVersion":2,"manifests":[]} x`, wantErr: true},
		{name: "no schema version", body: `{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, wantErr: true},
		{name: "schema version 3", body: `{"schemaVersion":3,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, wantErr: true},
		{name: "schema1 with a v2 media type", body: `{"schemaVersion":1,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`, wantErr: true},
		{name: "unknown media type", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json"}`, wantErr: true},
		{name: "ambiguous shape", body: `{"schemaVersion":2,"manifests":[],` + cfg + `}`, wantErr: true},
		{name: "empty shape", body: `{"schemaVersion":2}`, wantErr: true},
		{name: "child uppercase", body: `{"schemaVersion":2,"manifests":[{"digest":"` + strings.ToUpper(a) + `"}]}`, wantErr: true},
		{name: "child sha512", body: `{"schemaVersion":2,"manifests":[{"digest":"sha512:` + strings.Repeat("a", 128) + `"}]}`, wantErr: true},
		{name: "child missing", body: `{"schemaVersion":2,"manifests":[{"mediaType":"x"}]}`, wantErr: true},
		{name: "child not a string", body: `{"schemaVersion":2,"manifests":[{"digest":7}]}`, wantErr: true},
		{name: "subject short", body: `{"schemaVersion":2,` + cfg + `,"subject":{"digest":"sha256:abc"}}`, wantErr: true},
		{name: "subject empty", body: `{"schemaVersion":2,` + cfg + `,"subject":{}}`, wantErr: true},

		// Hostile and malformed documents.
		{name: "duplicate child entries", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + a + `"},{"digest":"` + a + `"}]}`,
			mediaType: "application/vnd.oci.image.index.v1+json", index: true, children: []string{a, a}},
		{name: "null manifests", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}`,
			mediaType: "application/vnd.oci.image.index.v1+json", index: true},
		{name: "truncated", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + a[:30], wantErr: true},
		{name: "empty", body: ``, wantErr: true},
		{name: "null", body: `null`, wantErr: true},
		{name: "two documents", body: `{"schemaVersion":2,"manifests":[]}{"schemaVersion":2,"manifests":[{"digest":"` + a + `"}]}`, wantErr: true},
		{name: "duplicate key", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + a + `"}],"manifests":[]}`, wantErr: true},
		{name: "duplicate key in another case", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + a + `"}],"Manifests":[]}`, wantErr: true},
		{name: "duplicate key by Unicode folding", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + a + `"}],"manifeſts":[]}`, wantErr: true},
		{name: "duplicate digest in an entry", body: `{"schemaVersion":2,"manifests":[{"digest":"` + a + `","digest":"` + b + `"}]}`, wantErr: true},
		{name: "duplicate media type", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, wantErr: true},
		{name: "nested too deeply", body: `{"schemaVersion":2,"manifests":[],"annotations":` + strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 71), wantErr: true},
		{name: "media type not a string", body: `{"schemaVersion":2,"mediaType":7,"manifests":[]}`, wantErr: true},
		{name: "schema version not a number", body: `{"schemaVersion":"2","manifests":[]}`, wantErr: true},
		{name: "manifests not a list", body: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":{"digest":"` + a + `"}}`, wantErr: true},
		{name: "child digest with whitespace", body: `{"schemaVersion":2,"manifests":[{"digest":" ` + a + `"}]}`, wantErr: true},
		{name: "child digest with a NUL", body: `{"schemaVersion":2,"manifests":[{"digest":"` + a + `\u0000"}]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parseDocument([]byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidDocument) {
					t.Errorf("error %v, want ErrInvalidDocument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var children []string
			for _, c := range doc.children {
				children = append(children, string(c))
			}
			if doc.mediaType != tt.mediaType || doc.index != tt.index || !slices.Equal(children, tt.children) || doc.subject != digest.Digest(tt.subject) {
				t.Errorf("got %+v", doc)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	hex := strings.Repeat("0", 64)
	tests := []struct {
		folder      string
		class       pathClass
		image, leaf string
		wantErr     bool
	}{
		{".", classOutside, "", "", false},
		{"", classOutside, "", "", false},
		{"latest", classOutside, "", "", false},
		{"sha256:" + hex, classOutside, "", "", false},
		{"app/latest", classTag, "app", "latest", false},
		{"team/app/sha256:" + hex, classDigest, "team/app", "sha256:" + hex, false},
		{"app/sha256:" + strings.ToUpper(strings.Repeat("a", 64)), classTag, "app", "sha256:" + strings.Repeat("A", 64), false},
		{"app/sha256:" + hex[:10], classTag, "app", "sha256:" + hex[:10], false},
		{"app/sha256__" + hex, classTag, "app", "sha256__" + hex, false},
		{"app/_uploads", classIgnored, "", "", false},
		{"app/_uploads/x", classIgnored, "", "", false},
		{"_uploads/sha256:" + hex, classIgnored, "", "", false},
		{"app//latest", classTag, "app/", "latest", true},
		{"app/latest/", classTag, "app/latest", "", true},
		{"app/../sha256:" + hex, classDigest, "app/..", "sha256:" + hex, true},
	}
	for _, tt := range tests {
		class, image, leaf, err := classify(tt.folder)
		if class != tt.class || image != tt.image || leaf != tt.leaf || (err != nil) != tt.wantErr {
			t.Errorf("classify(%q) = %v %q %q %v", tt.folder, class, image, leaf, err)
		}
		if err != nil && !errors.Is(err, ErrUnsafePath) {
			t.Errorf("classify(%q) error %v, want ErrUnsafePath", tt.folder, err)
		}
	}
}

func TestHumanFormats(t *testing.T) {
	for d, want := range map[string]string{"30s": "30s", "42m10s": "42m", "5h12m59s": "5h12m", "76h": "3d4h", "-90s": "-1m"} {
		dur, _ := time.ParseDuration(d)
		if got := HumanDuration(dur); got != want {
			t.Errorf("HumanDuration(%s) = %s, want %s", d, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 12 << 20: "12.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %s, want %s", n, got, want)
		}
	}
}
