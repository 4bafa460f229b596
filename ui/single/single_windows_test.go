package single

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func testPath(t *testing.T) string {
	return PipePath(fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano()))
}

func TestDefaultPathIsPipe(t *testing.T) {
	p, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, PipePath("S-1-")) {
		t.Errorf("DefaultPath = %q, want %s<SID>", p, PipePath(""))
	}
	t.Logf("instance pipe: %s", p)
}
