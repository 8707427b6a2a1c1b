//go:build unix

package doccache

import (
	"io/fs"
	"os"
	"syscall"
)

// ownerOf returns the owner of fi and the id of the running user.
func ownerOf(fi fs.FileInfo) (owner, me int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), os.Geteuid(), true
}
