package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// CacheDirEnv names the environment variable that overrides the default
// cache directory. Set it to an empty directory for a cold run.
const CacheDirEnv = "LKG_CACHE_DIR"

// DefaultCacheDir is where registry metadata is cached unless WithCacheDir
// says otherwise: $LKG_CACHE_DIR when set, else os.UserCacheDir()/lkg.
// It returns "" (no cache) when neither can be determined.
func DefaultCacheDir() string {
	if dir, ok := os.LookupEnv(CacheDirEnv); ok {
		return dir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "lkg")
}

// diskCache holds manifests and configs by digest, and the digest each
// pinned tag was last seen at. Entries are written to a temporary file and
// renamed into place, so concurrent lkg processes only ever see whole
// files; content is re-hashed on every read, so a corrupt or truncated
// entry is a miss rather than a wrong answer. A nil *diskCache caches
// nothing.
type diskCache struct {
	root string // <dir>/registry-v1
}

// newDiskCache returns a cache under dir, or nil when dir is "".
func newDiskCache(dir string) *diskCache {
	if dir == "" {
		return nil
	}
	return &diskCache{root: filepath.Join(dir, "registry-v1")}
}

// blobPath maps "sha256:<hex>" to its file; ok is false for anything that
// is not a well-formed sha256 digest (a hostile registry must not be able
// to pick a path).
func (c *diskCache) blobPath(digest string) (string, bool) {
	hexPart, found := strings.CutPrefix(digest, "sha256:")
	if !found || len(hexPart) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", false
	}
	return filepath.Join(c.root, "blobs", "sha256", hexPart[:2], hexPart), true
}

// Blob returns the cached content of digest, verified; ok is false on a
// miss or when the entry does not match its digest.
func (c *diskCache) Blob(digest string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	p, ok := c.blobPath(digest)
	if !ok {
		return nil, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	if digestOf(b) != digest {
		// Corrupt (a crash mid-copy, a disk error, a meddling hand):
		// drop it so the refetched copy replaces it.
		_ = os.Remove(p)
		return nil, false
	}
	return b, true
}

// PutBlob stores b under its digest. Errors are ignored by callers: a
// cache that cannot be written only makes the next run slower.
func (c *diskCache) PutBlob(digest string, b []byte) error {
	if c == nil {
		return nil
	}
	if digestOf(b) != digest {
		return errors.New("cache: content does not match digest " + digest)
	}
	p, ok := c.blobPath(digest)
	if !ok {
		return errors.New("cache: unsupported digest " + digest)
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeAtomic(p, b)
}

// tagPath is the file recording a pinned tag's digest; the name is hashed
// so that any registry, repository and tag spelling maps to a safe path.
func (c *diskCache) tagPath(repo, tag string) string {
	sum := sha256.Sum256([]byte(repo + ":" + tag))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.root, "tags", h[:2], h)
}

// TagDigest returns the digest a pinned tag was recorded at.
func (c *diskCache) TagDigest(repo, tag string) (string, bool) {
	if c == nil {
		return "", false
	}
	b, err := os.ReadFile(c.tagPath(repo, tag))
	if err != nil {
		return "", false
	}
	// The file holds "<repo>:<tag>\n<digest>\n", so a hash collision or a
	// truncated write can never hand back another tag's digest.
	want := repo + ":" + tag + "\n"
	rest, found := strings.CutPrefix(string(b), want)
	if !found {
		return "", false
	}
	d := strings.TrimSuffix(rest, "\n")
	if _, ok := c.blobPath(d); !ok {
		return "", false
	}
	return d, true
}

// PutTagDigest records that a pinned tag points at digest.
func (c *diskCache) PutTagDigest(repo, tag, digest string) error {
	if c == nil {
		return nil
	}
	return writeAtomic(c.tagPath(repo, tag), []byte(repo+":"+tag+"\n"+digest+"\n"))
}

// writeAtomic writes b to path through a temporary file in the same
// directory and a rename, which is atomic on POSIX file systems: readers
// in other processes see the old file, or the whole new one.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// digestOf is the sha256 digest string of b.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
