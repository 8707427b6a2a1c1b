package prune

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
)

// uploadsSegment names the folder where Artifactory keeps blob uploads in flight. Nothing under it is touched.
const uploadsSegment = "_uploads"

// isDigestFolderName reports whether name is exactly "sha256:" followed by 64 lowercase hex digits.
func isDigestFolderName(name string) bool {
	hex, ok := strings.CutPrefix(name, "sha256:")
	return ok && isSHA256Hex(hex)
}

// isSHA256Hex reports whether s is 64 lowercase hex digits.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// parseSHA256 parses a reference found in a document: it must be a valid digest of algorithm sha256, with 64
// lowercase hex digits.
func parseSHA256(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", fmt.Errorf("reference %q: %w: %w", s, err, ErrInvalidDocument)
	}
	if d.Algorithm() != digest.SHA256 {
		return "", fmt.Errorf("reference %q: algorithm %s is not sha256: %w", s, d.Algorithm(), ErrInvalidDocument)
	}
	return d, nil
}

// checkSegment returns an error if seg cannot be one segment of a path that may be deleted.
func checkSegment(seg string) error {
	switch seg {
	case "":
		return fmt.Errorf("empty segment: %w", ErrUnsafePath)
	case ".", "..":
		return fmt.Errorf("segment %q: %w", seg, ErrUnsafePath)
	case uploadsSegment:
		return fmt.Errorf("segment %q holds blob uploads: %w", seg, ErrUnsafePath)
	}
	if !utf8.ValidString(seg) {
		return fmt.Errorf("segment %q is not valid UTF-8: %w", seg, ErrUnsafePath)
	}
	for _, r := range seg {
		// '/' never reaches here from a split path, but the repository name is a single segment.
		// ';' starts matrix parameters in Artifactory URLs.
		if r == '/' || r == '\\' || r == '%' || r == '?' || r == '#' || r == ';' || unicode.IsControl(r) {
			return fmt.Errorf("segment %q contains %q: %w", seg, r, ErrUnsafePath)
		}
	}
	return nil
}

// checkRepo returns an error if repo is not an Artifactory repository key: letters, digits, '.', '_' and '-',
// and not "." or "..".
func checkRepo(repo string) error {
	if err := checkSegment(repo); err != nil {
		return fmt.Errorf("repository %q: %w", repo, err)
	}
	for i := range len(repo) {
		c := repo[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("repository %q: a repository key holds only letters, digits, '.', '_' and '-': %w", repo, ErrUnsafePath)
		}
	}
	return nil
}

// checkImage returns an error if image is not one or more safe segments separated by single slashes, each a
// component of a Docker repository name.
func checkImage(image string) error {
	for seg := range strings.SplitSeq(image, "/") {
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("image %q: %w", image, err)
		}
		if !isNameComponent(seg) {
			return fmt.Errorf("image %q: segment %q is not a Docker repository name component "+
				"(lowercase letters and digits, separated by '.', '_', '__' or dashes): %w", image, seg, ErrUnsafePath)
		}
	}
	return nil
}

// isNameComponent reports whether s is a path component of a Docker repository name, as the distribution
// reference grammar defines it: [a-z0-9]+ ( ( [._] | __ | [-]+ ) [a-z0-9]+ )*. Only the Docker API writes digest
// folders, and it accepts no other image names, so a folder under any other name was not made by a push: its
// path may mean something else to the server (spaces, Unicode, escapes, "sha256:" segments) and is left alone.
func isNameComponent(s string) bool {
	alnum := func(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }
	i, n := 0, len(s)
	for {
		start := i
		for i < n && alnum(s[i]) {
			i++
		}
		if i == start {
			return false // empty, or a separator where letters or digits must be
		}
		if i == n {
			return true
		}
		switch {
		case s[i] == '.':
			i++
		case s[i] == '_':
			i++
			if i < n && s[i] == '_' {
				i++
			}
		case s[i] == '-':
			for i < n && s[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// ValidateFolderPath is the guard of [Apply]: it returns an error wrapping [ErrUnsafePath] unless repo/folder is
// exactly "<repo>/<image>/sha256:<64 lowercase hex>". The repository is a key of letters, digits, '.', '_' and
// '-' (not "." or ".."); the image is one or more segments, each a component of a Docker repository name
// (lowercase letters and digits separated by '.', '_', '__' or dashes), none "_uploads"; there is no empty
// segment and no leading or trailing slash. So no accepted path holds "..", '%', '\', '?', '#', ';', spaces,
// control characters or non-ASCII letters, and every accepted path is its own URL path: escaping changes nothing
// in it. Implementations of [Deleter] may call it too.
func ValidateFolderPath(repo, folder string) error {
	if err := checkRepo(repo); err != nil {
		return err
	}
	image, leaf, ok := cutLast(folder)
	if !ok {
		return fmt.Errorf("folder %q in %s has no image: %w", folder, repo, ErrUnsafePath)
	}
	if !isDigestFolderName(leaf) {
		return fmt.Errorf("folder %q in %s is not a sha256:<64 lowercase hex> digest folder: %w", folder, repo, ErrUnsafePath)
	}
	if err := checkImage(image); err != nil {
		return fmt.Errorf("folder %q in %s: %w", folder, repo, err)
	}
	return nil
}

// cutLast splits p at its last slash.
func cutLast(p string) (parent, leaf string, ok bool) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p, false
	}
	return p[:i], p[i+1:], true
}

// pathClass says what a manifest file's folder is.
type pathClass int

const (
	classOutside pathClass = iota // directly in the repository root or one level deep: no image
	classIgnored                  // under an _uploads folder
	classTag                      // <image>/<tag>
	classDigest                   // <image>/sha256:<hex>
)

// classify classifies the folder of a manifest file (relative to the repository). For classTag and classDigest it
// returns the image and the folder's last segment, and an error if the path is not safe; such an image fails
// closed, since the plan must never hinge on a path that the guard would refuse.
func classify(folder string) (class pathClass, image, leaf string, err error) {
	if folder == "" || folder == "." {
		return classOutside, "", "", nil
	}
	segs := strings.Split(folder, "/")
	for _, s := range segs {
		if s == uploadsSegment {
			return classIgnored, "", "", nil
		}
	}
	if len(segs) < 2 {
		return classOutside, "", "", nil
	}
	image, leaf, _ = cutLast(folder)
	class = classTag
	if isDigestFolderName(leaf) {
		class = classDigest
	}
	if err := checkImage(image); err != nil {
		return class, image, leaf, fmt.Errorf("folder %q: %w", folder, err)
	}
	if err := checkSegment(leaf); err != nil {
		return class, image, leaf, fmt.Errorf("folder %q: %w", folder, err)
	}
	return class, image, leaf, nil
}

// fileKey returns the path of a file relative to its repository, without cleaning it: "<folder>/<name>", or just
// the name in the repository root ("" or ".").
func fileKey(folder, name string) string {
	if folder == "" || folder == "." {
		return name
	}
	return folder + "/" + name
}
