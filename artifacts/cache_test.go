package artifacts

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
)

func TestPackDamage(t *testing.T) {
	a, b := []byte("alpha content"), []byte("beta content")
	da, db := digestOf(a), digestOf(b)
	good := append(append(record(recBlob, da, a), record(recTag, "v1", []byte(da))...), record(recBlob, db, b)...)
	tests := []struct {
		name     string
		pack     []byte
		wantA    bool // blob a survives
		wantB    bool
		wantTag  bool
		wantGood bool // the pack reads clean, no rewrite needed
	}{
		{"intact", good, true, true, true, true},
		{"torn tail", good[:len(good)-5], true, false, true, false},
		{"flipped payload", bytes.Replace(good, []byte("beta"), []byte("BETA"), 1), true, false, true, false},
		{"forged blob with right CRC", append(record(recBlob, da, []byte("forged! content")), record(recBlob, db, b)...), false, true, false, false},
		{"garbage header", append(append([]byte("junk\n"), good...), good...), false, false, false, false},
		{"bad tag digest", append(record(recTag, "v1", []byte("sha256:nope")), record(recBlob, db, b)...), false, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newRepoCache(dir, "r")
			if err := os.MkdirAll(dir+"/registry-v2", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.path, tt.pack, 0o644); err != nil {
				t.Fatal(err)
			}
			_, gotA := c.Blob(da)
			_, gotB := c.Blob(db)
			_, gotTag := c.TagDigest("v1")
			if gotA != tt.wantA || gotB != tt.wantB || gotTag != tt.wantTag {
				t.Errorf("a, b, tag = %v, %v, %v; want %v, %v, %v", gotA, gotB, gotTag, tt.wantA, tt.wantB, tt.wantTag)
			}
			// A damaged pack was rewritten clean; a new reader agrees.
			after, err := os.ReadFile(c.path)
			if err != nil {
				t.Fatal(err)
			}
			fresh := newRepoCache(dir, "r")
			fresh.blobs, fresh.tags = map[string][]byte{}, map[string]string{}
			if got := fresh.parse(after); !got {
				t.Errorf("pack still damaged after load")
			}
			if got := bytes.Equal(after, tt.pack); got != tt.wantGood {
				t.Errorf("pack unchanged = %v, want %v", got, tt.wantGood)
			}
		})
	}
}

// Many writers on one pack, as concurrent lkg processes would be: every
// record each wrote is read back intact.
func TestPackConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	const writers, each = 8, 200
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newRepoCache(dir, "r") // one per writer, like separate processes
			for i := range each {
				b := []byte(fmt.Sprintf("writer %d blob %d %s", w, i, bytes.Repeat([]byte("x"), i)))
				if err := c.PutBlob(digestOf(b), b); err != nil {
					t.Error(err)
				}
				if err := c.PutTagDigest(fmt.Sprintf("w%d-%d", w, i), digestOf(b)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	c := newRepoCache(dir, "r")
	b, err := os.ReadFile(c.path)
	if err != nil {
		t.Fatal(err)
	}
	c.blobs, c.tags = map[string][]byte{}, map[string]string{}
	if !c.parse(b) {
		t.Fatal("pack damaged by concurrent appends")
	}
	if got, want := len(c.blobs), writers*each; got != want {
		t.Errorf("blobs = %d, want %d", got, want)
	}
	if got, want := len(c.tags), writers*each; got != want {
		t.Errorf("tags = %d, want %d", got, want)
	}
}

func TestNilCache(t *testing.T) {
	var c *repoCache = newRepoCache("", "r")
	if err := c.PutBlob(digestOf([]byte("x")), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Blob(digestOf([]byte("x"))); ok {
		t.Error("a disabled cache returned a blob")
	}
}
