package prune

import "errors"

// Sentinel errors. Errors returned by this package and by implementations of [Source] and [Deleter] wrap them, with
// what was being done and on which path, so callers test them with [errors.Is].
var (
	// ErrNotFound means the path does not exist (HTTP 404). [Apply] counts a folder already gone as a success.
	ErrNotFound = errors.New("not found")

	// ErrForbidden means the caller lacks a permission (HTTP 403), for a deletion the Delete permission.
	ErrForbidden = errors.New("forbidden")

	// ErrUnauthorized means the server refused the credentials (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")

	// ErrTooLarge means a document exceeds the size limit (Options.MaxDocumentBytes).
	ErrTooLarge = errors.New("document too large")

	// ErrIncomplete means a listing is incomplete: a failed page, a trimmed result, a permission-filtered view, or
	// an answer that does not fit the question asked.
	ErrIncomplete = errors.New("listing incomplete")

	// ErrUnsafePath means a path was refused by the guard ([ValidateFolderPath]) or does not fit the layout.
	ErrUnsafePath = errors.New("unsafe path")

	// ErrChanged means an image changed during the run, so its planned deletions were withdrawn.
	ErrChanged = errors.New("image changed during run")

	// ErrInvalidDocument means a manifest document is not JSON, has an unknown media type or schema version, is in
	// a file of the wrong kind (an index in manifest.json or a manifest in list.manifest.json), or holds a reference
	// that is not a valid sha256 digest, or that a manifest file's checksum is not 64 lowercase hex digits.
	ErrInvalidDocument = errors.New("invalid manifest document")

	// ErrDigestMismatch means the sha256 of a document's bytes differs from the checksum the server listed.
	ErrDigestMismatch = errors.New("content does not match its checksum")

	// ErrNotRechecked means [Apply] was given a plan that [Recheck] has not confirmed.
	ErrNotRechecked = errors.New("plan not rechecked")
)
