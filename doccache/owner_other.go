//go:build !unix

package doccache

import "io/fs"

// ownerOf reports no owner where the system has none that package os exposes (Windows): only the mode is checked.
func ownerOf(fs.FileInfo) (owner, me int, ok bool) { return 0, 0, false }
