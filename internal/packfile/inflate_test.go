package packfile

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"math/rand"
	"testing"
)

// headOf is what headInflater must return for data: up to and including
// the first blank line, or all of it.
func headOf(data []byte) []byte {
	if i := bytes.Index(data, []byte("\n\n")); i >= 0 {
		return data[:i+2]
	}
	return data
}

func deflate(tb testing.TB, data []byte, level int) []byte {
	tb.Helper()
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, level)
	if err != nil {
		tb.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// inflateInputs are commit-like objects and others: short and long, with
// and without a blank line, text that compresses well and noise that does
// not (stored blocks), long runs (overlapping copies).
func inflateInputs() [][]byte {
	rng := rand.New(rand.NewSource(1))
	var ins [][]byte
	commit := func(parents int, msg string) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "tree %040x\n", rng.Uint64())
		for range parents {
			fmt.Fprintf(&b, "parent %040x\n", rng.Uint64())
		}
		fmt.Fprintf(&b, "author Dev <dev@example.com> %d +0000\ncommitter Dev <dev@example.com> %d +0100\n\n%s", rng.Int63n(2e9), rng.Int63n(2e9), msg)
		return b.Bytes()
	}
	for p := range 4 {
		ins = append(ins, commit(p, "change 00001\n"), commit(p, ""), commit(p, bytes.NewBuffer(bytes.Repeat([]byte("a long message line\n"), 500)).String()))
	}
	noise := make([]byte, 70000)
	rng.Read(noise)
	ins = append(ins, nil, []byte("\n"), []byte("\n\n"), []byte("no blank line"), noise[:300],
		append(append([]byte("head\n\n"), noise...), "tail"...), append(noise[:40000:40000], "\n\nafter"...),
		bytes.Repeat([]byte{'x'}, 100000), append(bytes.Repeat([]byte{'y'}, 70000), "\n\nz"...))
	for i := 0; i < 200; i++ {
		n := rng.Intn(2000)
		b := make([]byte, n)
		for j := range b {
			b[j] = "ab\n c"[rng.Intn(5)]
		}
		ins = append(ins, b)
	}
	return ins
}

func TestHeadInflater(t *testing.T) {
	var f headInflater
	var buf []byte
	for i, data := range inflateInputs() {
		for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, 3, zlib.DefaultCompression, zlib.BestCompression, zlib.HuffmanOnly} {
			z := deflate(t, data, level)
			got, err := f.head(buf, z, len(data))
			if err != nil {
				t.Fatalf("input %d (%d bytes), level %d: %v", i, len(data), level, err)
			}
			if want := headOf(data); !bytes.Equal(got, want) {
				t.Fatalf("input %d (%d bytes), level %d: got %d bytes %.40q, want %d bytes %.40q", i, len(data), level, len(got), got, len(want), want)
			}
			buf = got
			// A wrong size in the object header is an error, never a
			// longer or shorter object, unless the head ends first.
			if !bytes.Contains(data, []byte("\n\n")) {
				if _, err := f.head(buf, z, len(data)+1); err == nil {
					t.Fatalf("input %d, level %d: size+1 accepted", i, level)
				}
				if len(data) > 0 {
					if _, err := f.head(buf, z, len(data)-1); err == nil {
						t.Fatalf("input %d, level %d: size-1 accepted", i, level)
					}
				}
			}
		}
	}
}

// TestHeadInflaterCorrupt: truncated or damaged streams are errors, never
// a panic or a wrong head.
func TestHeadInflaterCorrupt(t *testing.T) {
	var f headInflater
	rng := rand.New(rand.NewSource(2))
	for i, data := range inflateInputs()[:20] {
		z := deflate(t, data, zlib.DefaultCompression)
		for cut := 0; cut < len(z); cut += 1 + len(z)/50 {
			got, err := f.head(nil, z[:cut], len(data))
			if err == nil && !bytes.Equal(got, headOf(data)) {
				t.Fatalf("input %d cut at %d: wrong head %q", i, cut, got)
			}
		}
		for range 50 {
			bad := bytes.Clone(z)
			bad[rng.Intn(len(bad))] ^= 1 << rng.Intn(8)
			f.head(nil, bad, len(data)) // must not panic
		}
	}
	if _, err := f.head(nil, []byte{0x78, 0x9d}, 0); err == nil {
		t.Fatal("bad zlib header accepted")
	}
}

func FuzzHeadInflater(f *testing.F) {
	for _, data := range inflateInputs()[:16] {
		f.Add(deflate(f, data, zlib.DefaultCompression), len(data))
	}
	f.Fuzz(func(t *testing.T, z []byte, size int) {
		if size < 0 || size > 1<<20 {
			return
		}
		var h headInflater
		got, err := h.head(nil, z, size)
		zr, zerr := zlib.NewReader(bytes.NewReader(z))
		if zerr != nil {
			return
		}
		var want bytes.Buffer
		if _, zerr = want.ReadFrom(zr); zerr != nil || want.Len() != size {
			return
		}
		if err != nil {
			t.Fatalf("compress/zlib inflates %d bytes, headInflater: %v", size, err)
		}
		if !bytes.Equal(got, headOf(want.Bytes())) {
			t.Fatalf("got %q, want %q", got, headOf(want.Bytes()))
		}
	})
}

// BenchmarkHeadInflater inflates commit-sized objects, against
// compress/zlib reading up to the blank line as the scan did before.
func BenchmarkHeadInflater(b *testing.B) {
	var zs [][]byte
	var sizes []int
	for _, data := range inflateInputs()[:12] {
		zs = append(zs, deflate(b, data, zlib.DefaultCompression))
		sizes = append(sizes, len(data))
	}
	b.Run("head", func(b *testing.B) {
		var f headInflater
		var buf []byte
		for b.Loop() {
			for i, z := range zs {
				out, err := f.head(buf, z, sizes[i])
				if err != nil {
					b.Fatal(err)
				}
				buf = out
			}
		}
	})
	b.Run("compress-zlib", func(b *testing.B) {
		var src bytes.Reader
		buf := make([]byte, 0, 1<<16)
		var r zlibReader
		for b.Loop() {
			for i, z := range zs {
				src.Reset(z)
				if err := r.reset(&src); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r.zr, buf[:min(sizes[i], 512)]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

type zlibReader struct{ zr io.ReadCloser }

func (r *zlibReader) reset(src *bytes.Reader) error {
	if r.zr == nil {
		zr, err := zlib.NewReader(src)
		r.zr = zr
		return err
	}
	return r.zr.(zlib.Resetter).Reset(src, nil)
}
