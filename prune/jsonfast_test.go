package prune

import (
	"strings"
	"testing"
)

// FuzzUnambiguousFast checks the fast path against the tokenizer: the fast path may only accept what
// checkUnambiguousSlow accepts.
func FuzzUnambiguousFast(f *testing.F) {
	a := "sha256:" + strings.Repeat("a", 64)
	for _, s := range []string{
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + a + `"}]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"` + a + `"}],"Manifests":[]}`,
		`{"schemaVersion":2,"manifests":[],"manifeſts":[]}`,
		`{"schemaVersion":2,"m\u0061nifests":[],"manifests":[]}`,
		`{"a":{"b":1,"B":2}}`, `{"a":[{"b":1},{"b":2}],"b":{"a":1}}`, `{"k":1,"K":2}`, `{"k":1,"\u212a":2}`,
		`[{"x":"{\"x\":1,\"x\":2}"}]`, `{"a":"\"","a ":1}`, `{} {}`, ``, `  {}  `, `"x"`, `[[[]]]`,
		strings.Repeat("[", 64) + strings.Repeat("]", 64), strings.Repeat("[", 65) + strings.Repeat("]", 65),
		`{"annotations":{"a":"1","b":"2","c":"3"},"a":1,"A":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, slow := unambiguousFast(b), checkUnambiguousSlow(b)
		if fast && slow != nil {
			t.Fatalf("the fast path accepts %q, the tokenizer says %v", b, slow)
		}
	})
}

// TestUnambiguousFastAcceptsRegistryDocuments checks that the fast path decides for ordinary documents.
func TestUnambiguousFastAcceptsRegistryDocuments(t *testing.T) {
	a := "sha256:" + strings.Repeat("a", 64)
	for _, s := range []string{
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + a + `","size":42,"platform":{"architecture":"amd64","os":"linux"}},{"digest":"` + a + `","annotations":{"vnd.docker.reference.digest":"` + a + `","vnd.docker.reference.type":"attestation-manifest"}}]}`,
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"` + a + `","size":1},"layers":[{"digest":"` + a + `","size":2}],"annotations":{"org.opencontainers.image.created":"2042"}}`,
	} {
		if !unambiguousFast([]byte(s)) {
			t.Errorf("the fast path does not decide for %s", s)
		}
	}
}
