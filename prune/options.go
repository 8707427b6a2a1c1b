package prune

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Defaults for [Options].
const (
	// DefaultMinAge is the grace period: a multi-arch push writes children before their index, and push-by-digest
	// CI merges the index minutes or hours after its children.
	DefaultMinAge = 24 * time.Hour
	// DefaultConcurrency is the number of documents read, or folders deleted, at once.
	DefaultConcurrency = 4
	// DefaultMaxDocumentBytes is the largest manifest document the planner reads.
	DefaultMaxDocumentBytes int64 = 4 << 20
	// DefaultMeasureLimit is the largest number of folders to delete whose sizes the planner measures.
	DefaultMeasureLimit = 25_000
)

// Options configures a [Planner]. The zero value gives the defaults.
type Options struct {
	// MinAge is the grace period: a manifest file younger than this (server time at the start of the plan minus the
	// newest of its created, modified and updated times) is a root. Zero means [DefaultMinAge]; negative is invalid.
	MinAge time.Duration
	// Concurrency is the number of documents read at once. Zero means [DefaultConcurrency]; negative is invalid.
	Concurrency int
	// MaxDocumentBytes is the size limit of one document. Zero means [DefaultMaxDocumentBytes]; negative is invalid.
	MaxDocumentBytes int64
	// KeepProperty protects folders whose manifest file carries an Artifactory property: "key=value" matches that
	// value, "key" any value. Empty disables protection by property.
	KeepProperty string
	// MeasureLimit is the largest number of folders to delete whose sizes (RepoPlan.Bytes, FreedBytes and
	// Folder.Bytes) the planner measures: measuring lists the files of every such folder and the holders of their
	// checksums, AQL rows in proportion. Above it, and always when negative, the sizes are unknown (RepoPlan.BytesErr
	// says why) and the plan stands. Zero means [DefaultMeasureLimit].
	MeasureLimit int
	// Documents, when not nil, keeps parsed documents between runs (see [DocumentCache]): a document found there
	// is not read.
	Documents DocumentCache
	// Logger receives debug and progress messages; nil discards them.
	Logger *slog.Logger
}

// keepMatcher matches Options.KeepProperty.
type keepMatcher struct {
	key, value string
	anyValue   bool
}

func parseKeepProperty(s string) (*keepMatcher, error) {
	if s == "" {
		return nil, nil
	}
	key, value, hasValue := strings.Cut(s, "=")
	if key == "" {
		return nil, fmt.Errorf("keep property %q: empty key", s)
	}
	return &keepMatcher{key: key, value: value, anyValue: !hasValue}, nil
}

func (m *keepMatcher) match(props map[string][]string) bool {
	if m == nil {
		return false
	}
	values, ok := props[m.key]
	if !ok {
		return false
	}
	return m.anyValue || slices.Contains(values, m.value)
}

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.MinAge < 0 {
		errs = append(errs, fmt.Errorf("negative minimum age %v", o.MinAge))
	}
	if o.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("negative concurrency %d", o.Concurrency))
	}
	if o.MaxDocumentBytes < 0 {
		errs = append(errs, fmt.Errorf("negative document size limit %d", o.MaxDocumentBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("invalid options: %w", err)
	}
	if o.MinAge == 0 {
		o.MinAge = DefaultMinAge
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxDocumentBytes == 0 {
		o.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if o.MeasureLimit == 0 {
		o.MeasureLimit = DefaultMeasureLimit
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
