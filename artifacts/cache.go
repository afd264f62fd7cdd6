package artifacts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// repoCache is one repository's metadata cache: manifests and configs by
// digest, and the digest each tag was last seen at, in one append-only
// pack file per repository (<dir>/registry-v2/<sha256 of the name>.pack).
//
// Why a pack and not a file per blob: creating a file costs about a third
// of a millisecond on these machines, three per tag (manifest, config,
// tag), which made a cold scan slower than no cache at all; an append is a
// single write(2) of a few microseconds, and a warm run reads one file.
//
// Safety: every record goes out in one write on an O_APPEND descriptor, so
// concurrent writers (goroutines or processes) never interleave within a
// record on a local file system. Each record carries its length and a
// CRC, and a blob is re-hashed against its digest when the pack is read:
// a torn, corrupt or forged record is skipped (a miss, refetched), and a
// pack with any bad record is rewritten without it through a temporary
// file and an atomic rename. A nil *repoCache caches nothing.
type repoCache struct {
	path string

	once  sync.Once
	mu    sync.Mutex
	f     *os.File          // append handle; nil when the pack cannot be written
	blobs map[string][]byte // digest -> verified content
	tags  map[string]string // tag -> digest
	pages tagPages          // where the tag list's pages began last time
}

// newRepoCache returns repo's cache under dir, or nil when dir is "".
func newRepoCache(dir, repo string) *repoCache {
	if dir == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(repo))
	return &repoCache{path: filepath.Join(dir, "registry-v2", hex.EncodeToString(sum[:])+".pack")}
}

// maxPackSize bounds one repository's pack: some 100,000 images' metadata.
const maxPackSize = 256 << 20

// Record kinds in a pack.
const (
	recBlob = "blob" // key: digest; payload: content
	recTag  = "tag"  // key: tag; payload: digest
	recDrop = "drop" // key: digest; no payload: forget the blob
	// key: the page size; payload: the tags after which the tag list's
	// pages begin, one a line (the last record wins).
	recPages = "pages"
)

// load reads the pack once, on first use, and opens it for appending.
func (c *repoCache) load() {
	c.once.Do(func() {
		c.blobs, c.tags = map[string][]byte{}, map[string]string{}
		if fi, err := os.Stat(c.path); err == nil && fi.Size() > maxPackSize {
			// Builds of moving tags accumulate; rather than track which
			// are dead, start over when the pack outgrows any real need.
			_ = os.Remove(c.path)
		}
		b, err := os.ReadFile(c.path)
		if err == nil {
			if !c.parse(b) {
				c.compact()
			}
		}
		if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
			return
		}
		f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			c.f = f
		}
	})
}

// parse indexes the valid records of b and reports whether all were.
func (c *repoCache) parse(b []byte) bool {
	clean := true
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return false // a torn header at the end
		}
		kind, key, n, crc, ok := parseHeader(string(b[:nl]))
		if !ok || len(b) < nl+1+n+1 || b[nl+1+n] != '\n' {
			// The framing is lost; what follows cannot be trusted.
			return false
		}
		payload := b[nl+1 : nl+1+n]
		b = b[nl+1+n+1:]
		if crc32.ChecksumIEEE(payload) != crc {
			clean = false
			continue
		}
		switch kind {
		case recBlob:
			if digestOf(payload) != key {
				clean = false
				continue
			}
			c.blobs[key] = payload
		case recDrop:
			delete(c.blobs, key)
		case recTag:
			if !validDigest(string(payload)) {
				clean = false
				continue
			}
			c.tags[key] = string(payload)
		case recPages:
			size, err := strconv.Atoi(key)
			if err != nil || size < 1 {
				clean = false
				continue
			}
			c.pages = tagPages{size: size, after: strings.Split(string(payload), "\n")}
		default:
			clean = false
		}
	}
	return clean
}

// parseHeader reads "<kind> <key> <len> <crc32 hex>".
func parseHeader(h string) (kind, key string, n int, crc uint32, ok bool) {
	f := strings.Split(h, " ")
	if len(f) != 4 {
		return "", "", 0, 0, false
	}
	n, err := strconv.Atoi(f[2])
	if err != nil || n < 0 {
		return "", "", 0, 0, false
	}
	c, err := strconv.ParseUint(f[3], 16, 32)
	if err != nil {
		return "", "", 0, 0, false
	}
	return f[0], f[1], n, uint32(c), true
}

// record frames one record.
func record(kind, key string, payload []byte) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s %s %d %08x\n", kind, key, len(payload), crc32.ChecksumIEEE(payload))
	buf.Write(payload)
	buf.WriteByte('\n')
	return buf.Bytes()
}

// compact rewrites the pack with only the records that parsed, atomically.
// A process still appending to the old file loses those appends: a later
// cache miss, never a wrong answer.
func (c *repoCache) compact() {
	var buf bytes.Buffer
	for d, b := range c.blobs {
		buf.Write(record(recBlob, d, b))
	}
	for t, d := range c.tags {
		buf.Write(record(recTag, t, []byte(d)))
	}
	if c.pages.size > 0 {
		buf.Write(c.pages.record())
	}
	_ = writeAtomic(c.path, buf.Bytes())
}

// append writes one record; errors only cost a later cache miss.
func (c *repoCache) append(rec []byte) {
	if c.f != nil {
		_, _ = c.f.Write(rec)
	}
}

// Blob returns the verified content of digest.
func (c *repoCache) Blob(digest string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.load()
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blobs[digest]
	return b, ok
}

// PutBlob stores b under its digest, which it must match.
func (c *repoCache) PutBlob(digest string, b []byte) error {
	if c == nil {
		return nil
	}
	if !validDigest(digest) || digestOf(b) != digest {
		return errors.New("cache: content does not match digest " + digest)
	}
	c.load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.blobs[digest]; ok {
		return nil
	}
	c.blobs[digest] = b
	c.append(record(recBlob, digest, b))
	return nil
}

// Drop forgets the blob digest, here and for every later reader of the
// pack: content that hashed right but could not be used (written by an lkg
// that cached before checking) is read from the registry again.
func (c *repoCache) Drop(digest string) {
	if c == nil {
		return
	}
	c.load()
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.blobs, digest)
	c.append(record(recDrop, digest, nil))
}

// TagDigest returns the digest tag was last seen at.
func (c *repoCache) TagDigest(tag string) (string, bool) {
	if c == nil {
		return "", false
	}
	c.load()
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.tags[tag]
	return d, ok
}

// PutTagDigest records that tag points at digest.
func (c *repoCache) PutTagDigest(tag, digest string) error {
	if c == nil {
		return nil
	}
	if !validDigest(digest) || strings.ContainsAny(tag, " \n") {
		return errors.New("cache: bad tag record")
	}
	c.load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tags[tag] == digest {
		return nil
	}
	c.tags[tag] = digest
	c.append(record(recTag, tag, []byte(digest)))
	return nil
}

// tagPages says where a paginated tag list's pages began: with a page
// size of size, after each tag of after (the first page, which begins at
// the start, is not listed).
type tagPages struct {
	size  int
	after []string
}

func (p tagPages) record() []byte {
	return record(recPages, strconv.Itoa(p.size), []byte(strings.Join(p.after, "\n")))
}

// TagPages returns where the tag list's pages began on the last listing;
// ok is false when it had a single page or was never listed.
func (c *repoCache) TagPages() (_ tagPages, ok bool) {
	if c == nil {
		return tagPages{}, false
	}
	c.load()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pages, c.pages.size > 0 && len(c.pages.after) > 0
}

// PutTagPages records where the tag list's pages began; tags holding a
// newline cannot be recorded (nor listed by any registry).
func (c *repoCache) PutTagPages(p tagPages) {
	if c == nil || p.size < 1 || len(p.after) == 0 || slices.ContainsFunc(p.after, func(t string) bool { return t == "" || strings.Contains(t, "\n") }) {
		return
	}
	c.load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.size == c.pages.size && slices.Equal(p.after, c.pages.after) {
		return
	}
	c.pages = p
	c.append(p.record())
}

// validDigest reports whether d is "sha256:" and 64 lowercase hex digits.
func validDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
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
