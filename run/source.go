package run

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/artprune/artprune/planfile"
	"github.com/artprune/artprune/progress"
	"github.com/artprune/artprune/prune"
)

// compileImageGlob compiles an image glob: "*" matches within one path segment, "**" across segments, "?" one
// character other than "/".
func compileImageGlob(g string) (*regexp.Regexp, error) {
	if g == "" || strings.HasPrefix(g, "/") || strings.HasSuffix(g, "/") {
		return nil, fmt.Errorf("image glob %q: want an image path such as team/app, team/* or team/**", g)
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch c := g[i]; {
		case c == '*' && i+1 < len(g) && g[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// ImageFilter says which images a run judges: [Options.IncludeImages] and [Options.ExcludeImages]. The zero value
// judges every image.
type ImageFilter struct {
	include, exclude []*regexp.Regexp
}

// NewImageFilter returns the filter that judges the images matching one of includes (every image when includes is
// empty) and none of excludes. In a glob "*" matches within one path segment, "**" across segments, "?" one
// character other than "/". An error names the first glob that is not an image path.
func NewImageFilter(includes, excludes []string) (ImageFilter, error) {
	var f ImageFilter
	for _, g := range includes {
		re, err := compileImageGlob(g)
		if err != nil {
			return f, err
		}
		f.include = append(f.include, re)
	}
	for _, g := range excludes {
		re, err := compileImageGlob(g)
		if err != nil {
			return f, err
		}
		f.exclude = append(f.exclude, re)
	}
	return f, nil
}

func (f ImageFilter) active() bool { return len(f.include) > 0 || len(f.exclude) > 0 }

// Judges reports whether the run judges image (a path such as "team/app").
func (f ImageFilter) Judges(image string) bool {
	match := func(res []*regexp.Regexp) bool {
		return slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(image) })
	}
	if len(f.include) > 0 && !match(f.include) {
		return false
	}
	return !match(f.exclude)
}

// filterableImage returns the image of a manifest file's folder, and whether the file may be left out of the
// inventory when its image is excluded. Files outside any image, under _uploads, or below a "sha256:" folder are
// always kept in: the planner must see them, since deleting a digest folder deletes everything below it.
func filterableImage(folder string) (string, bool) {
	segs := strings.Split(folder, "/")
	if len(segs) < 2 {
		return "", false
	}
	for _, s := range segs {
		if s == "_uploads" || s == "" {
			return "", false
		}
	}
	for _, s := range segs[:len(segs)-1] {
		if strings.HasPrefix(s, "sha256:") {
			return "", false
		}
	}
	return strings.Join(segs[:len(segs)-1], "/"), true
}

// runSource decorates the planner's source for one run: it leaves excluded images out of the inventory, records
// the manifest checksums of digest folders (the evidence of a plan file), and counts progress.
type runSource struct {
	prune.Source
	images  ImageFilter
	prog    progress.Reporter
	capture bool

	mu       sync.Mutex
	docs     map[string]progress.Phase
	excluded map[string]map[string]bool
	evidence map[string]map[string][]planfile.Manifest
}

func newRunSource(src prune.Source, images ImageFilter, prog progress.Reporter, capture bool) *runSource {
	return &runSource{Source: src, images: images, prog: prog, capture: capture, docs: map[string]progress.Phase{},
		excluded: map[string]map[string]bool{}, evidence: map[string]map[string][]planfile.Manifest{}}
}

// Manifests implements prune.Source.
func (s *runSource) Manifests(ctx context.Context, repo string, fn func(prune.ManifestFile) error) error {
	inv := s.prog.Start(repo, progress.PhaseInventory, 0)
	excluded := map[string]bool{}
	evidence := map[string][]planfile.Manifest{}
	var listed int64
	err := s.Source.Manifests(ctx, repo, func(f prune.ManifestFile) error {
		inv.Add(1)
		if image, ok := filterableImage(f.Path); ok && s.images.active() && !s.images.Judges(image) {
			excluded[image] = true
			f.Excluded = true // the planner only notes its tag folders (an image nested in one is skipped)
			return fn(f)
		}
		if s.capture { // digest folders for the plan's folders, tag folders for artprune delete's tags
			evidence[f.Path] = append(evidence[f.Path], planfile.Manifest{Name: f.Name, SHA256: f.SHA256})
		}
		listed++
		return fn(f)
	})
	inv.Done()
	docs := s.prog.Start(repo, progress.PhaseDocuments, listed)
	s.mu.Lock()
	s.docs[repo] = docs
	s.excluded[repo] = excluded
	s.evidence[repo] = evidence
	s.mu.Unlock()
	return err
}

// ReadFile implements prune.Source.
func (s *runSource) ReadFile(ctx context.Context, repo, path string, limit int64) ([]byte, error) {
	b, err := s.Source.ReadFile(ctx, repo, path, limit)
	s.mu.Lock()
	ph := s.docs[repo]
	s.mu.Unlock()
	if ph != nil {
		ph.Add(1)
	}
	return b, err
}

// endDocuments ends the document-reads phase of repo.
func (s *runSource) endDocuments(repo string) {
	s.mu.Lock()
	ph := s.docs[repo]
	delete(s.docs, repo)
	s.mu.Unlock()
	if ph != nil {
		ph.Done()
	}
}

// excludedImages returns the images of repo left out, sorted.
func (s *runSource) excludedImages(repo string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for img := range s.excluded[repo] {
		out = append(out, img)
	}
	slices.Sort(out)
	return out
}

// evidenceOf returns the manifests listed in each digest folder of repo, sorted by name.
func (s *runSource) evidenceOf(repo string) map[string][]planfile.Manifest {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.evidence[repo]
	for _, ms := range ev {
		slices.SortFunc(ms, func(a, b planfile.Manifest) int { return strings.Compare(a.Name, b.Name) })
	}
	return ev
}

// RecheckImages implements prune.RecheckSource with the run's source, which must provide it: without it, the
// re-check before each batch of deletions fails, and so the repository's remaining deletions are not attempted.
func (s *runSource) RecheckImages(ctx context.Context, repo string, images []string, since time.Time, fn func(prune.ManifestFile) error) error {
	rs, ok := s.Source.(prune.RecheckSource)
	if !ok {
		return fmt.Errorf("the source of repository %s cannot re-check images: %w", repo, prune.ErrIncomplete)
	}
	return rs.RecheckImages(ctx, repo, images, since, fn)
}

// countingDeleter counts deletions for the progress display.
type countingDeleter struct {
	prune.Deleter
	phase progress.Phase
}

func (d countingDeleter) DeleteFolder(ctx context.Context, repo, folder string) error {
	err := d.Deleter.DeleteFolder(ctx, repo, folder)
	d.phase.Add(1)
	return err
}
