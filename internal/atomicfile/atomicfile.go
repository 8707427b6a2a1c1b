// Package atomicfile writes files so that a reader never sees half of one: through a temporary file in the same
// folder, renamed over the file.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write writes path with write, through a temporary file named prefix followed by random characters in path's
// folder, renamed over path once written and closed. On an error the temporary file is removed and path is left
// as it was.
func Write(path, prefix string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), prefix+"*")
	if err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
