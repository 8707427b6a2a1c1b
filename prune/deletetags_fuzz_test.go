package prune

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzValidateTagFolderPath: every tag folder the guard of artprune delete accepts is "<image>/<tag>" with a Docker
// image and tag, its own URL, never a digest folder, _uploads or anything with a path trick; and ParseTagRef accepts
// only what leads the guard to accept the tag folder of a literal tag.
func FuzzValidateTagFolderPath(f *testing.F) {
	dig := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	for _, s := range [][2]string{
		{"docker-local", "app/latest"}, {"docker-local", "team/app/v1.2_3"}, {"docker-local", "app/" + dig},
		{"docker-local", "app/_uploads"}, {"docker-local", "app/../latest"}, {"docker-local", "app/%2e%2e"},
		{"docker-local", "App/latest"}, {"docker-local", "app/-x"}, {"docker-local", "app/" + strings.Repeat("a", 129)},
		{"docker-local", "app/sha256-" + dig[7:] + ".sig"}, {"docker local", "app/latest"}, {"docker-local", "app/lat est"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, repo, folder string) {
		if err := ValidateTagFolderPath(repo, folder); err != nil {
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("error %v does not wrap ErrUnsafePath", err)
			}
		} else {
			image, tag, _ := cutLast(folder)
			if checkImage(image) != nil || !isTag(tag) || tag == uploadsSegment || strings.HasPrefix(tag, "sha256:") {
				t.Fatalf("accepted %q/%q: image %q tag %q", repo, folder, image, tag)
			}
			if ValidateFolderPath(repo, folder) == nil {
				t.Fatalf("accepted %q/%q as a tag folder and as a digest folder", repo, folder)
			}
			if path.Clean(folder) != folder || strings.HasPrefix(folder, "/") {
				t.Fatalf("accepted %q/%q: not a clean relative path", repo, folder)
			}
			for _, s := range append([]string{repo}, strings.Split(folder, "/")...) {
				if s == "" || s == "." || s == ".." || url.PathEscape(s) != s {
					t.Fatalf("accepted %q/%q: segment %q", repo, folder, s)
				}
			}
		}
		// The same text as an argument of artprune delete.
		r, p, err := ParseTagRef(repo + "/" + strings.Replace(folder, "/", ":", strings.Count(folder, "/")))
		if err == nil && isTag(p.Tag) {
			if verr := ValidateTagFolderPath(r, p.Image+"/"+p.Tag); verr != nil {
				t.Fatalf("ParseTagRef accepted %q/%q:%q, whose tag folder the guard refuses: %v", r, p.Image, p.Tag, verr)
			}
		}
	})
}
