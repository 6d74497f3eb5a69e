package render

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// memFile is an anonymous in-memory file holding data, readable by path
// as /proc/self/fd/N until it is closed.
func memFile(name string, data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd: %w", err)
	}
	return f, nil
}
