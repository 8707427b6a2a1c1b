package prune

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker media types (not in image-spec).
const (
	mediaTypeDockerList       = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerManifest   = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerSchema1    = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeDockerSchema1JWS = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// document is what the planner needs from a parsed manifest document.
type document struct {
	mediaType string
	index     bool            // an OCI image index or Docker manifest list
	children  []digest.Digest // index entries, in document order
	subject   digest.Digest   // OCI 1.1 subject; "" if none
}

// parseDocument parses a manifest document. Errors wrap [ErrInvalidDocument]. A document that JSON parsers could
// read in different ways (duplicate keys, keys that differ only in case) is refused: see checkUnambiguous.
//
// Accepted: schema version 2 with media type OCI image index, Docker manifest list, OCI image manifest or Docker
// v2 schema2 manifest; schema version 1 (Docker schema1, no references). An empty media type is accepted when
// the shape is unambiguous (OCI 1.0 made the field optional): "manifests" without "config" and "layers" is an OCI
// index, "config" without "manifests" an OCI manifest.
func parseDocument(b []byte) (*document, error) {
	var probe struct {
		SchemaVersion *int            `json:"schemaVersion"`
		MediaType     string          `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
		Config        json.RawMessage `json:"config"`
		Layers        json.RawMessage `json:"layers"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w: %w", err, ErrInvalidDocument)
	}
	if err := checkUnambiguous(b); err != nil {
		return nil, fmt.Errorf("ambiguous JSON: %w: %w", err, ErrInvalidDocument)
	}
	if probe.SchemaVersion == nil {
		return nil, fmt.Errorf("no schemaVersion: %w", ErrInvalidDocument)
	}
	switch *probe.SchemaVersion {
	case 1:
		switch probe.MediaType {
		case "":
			return &document{mediaType: mediaTypeDockerSchema1}, nil
		case mediaTypeDockerSchema1, mediaTypeDockerSchema1JWS:
			return &document{mediaType: probe.MediaType}, nil
		}
		return nil, fmt.Errorf("schemaVersion 1 with media type %q: %w", probe.MediaType, ErrInvalidDocument)
	case 2:
	default:
		return nil, fmt.Errorf("unknown schemaVersion %d: %w", *probe.SchemaVersion, ErrInvalidDocument)
	}

	mediaType := probe.MediaType
	if mediaType == "" {
		switch {
		case present(probe.Manifests) && !present(probe.Config) && !present(probe.Layers):
			mediaType = ocispec.MediaTypeImageIndex
		case present(probe.Config) && !present(probe.Manifests):
			mediaType = ocispec.MediaTypeImageManifest
		default:
			return nil, fmt.Errorf("no mediaType and an ambiguous shape: %w", ErrInvalidDocument)
		}
	}

	doc := &document{mediaType: mediaType}
	var subject *ocispec.Descriptor
	switch mediaType {
	case ocispec.MediaTypeImageIndex, mediaTypeDockerList:
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", mediaType, err, ErrInvalidDocument)
		}
		doc.index = true
		doc.children = make([]digest.Digest, 0, len(idx.Manifests))
		for i, m := range idx.Manifests {
			d, err := parseSHA256(string(m.Digest))
			if err != nil {
				return nil, fmt.Errorf("manifests[%d]: %w", i, err)
			}
			doc.children = append(doc.children, d)
		}
		subject = idx.Subject
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest:
		var m ocispec.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", mediaType, err, ErrInvalidDocument)
		}
		subject = m.Subject
	default:
		return nil, fmt.Errorf("unknown media type %q: %w", mediaType, ErrInvalidDocument)
	}
	if subject != nil {
		d, err := parseSHA256(string(subject.Digest))
		if err != nil {
			return nil, fmt.Errorf("subject: %w", err)
		}
		doc.subject = d
	}
	return doc, nil
}

// present reports whether a JSON field was given with a value other than null.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// checkKind returns an error if doc does not belong in a file called name.
func (doc *document) checkKind(name string) error {
	switch {
	case name == ListManifestName && !doc.index:
		return fmt.Errorf("%s holds %s, not an index: %w", name, doc.mediaType, ErrInvalidDocument)
	case name == ManifestName && doc.index:
		return fmt.Errorf("%s holds index %s: %w", name, doc.mediaType, ErrInvalidDocument)
	}
	return nil
}
