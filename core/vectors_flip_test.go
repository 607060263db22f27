package core_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/corebridge/corebridge/internal/vectors"
)

// TestVectorsDetectFlippedByte shows the vector walk can fail: flipping one
// hex digit anywhere among the long hex fields of a vector file (keys,
// hashes, signatures, signables, blocks, wire messages) must be reported.
func TestVectorsDetectFlippedByte(t *testing.T) {
	for _, name := range []string{"../testdata/public-v6.json", "../testdata/public-v7.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fields := regexp.MustCompile(`"[0-9a-f]{64,}"`).FindAllIndex(data, -1)
		if len(fields) < 100 {
			t.Fatalf("%s: only %d hex fields found", name, len(fields))
		}
		seed := uint64(time.Now().UnixNano())
		t.Logf("%s: seed %d", name, seed)
		rng := rand.New(rand.NewPCG(seed, 0))
		for range 25 {
			f := fields[rng.IntN(len(fields))]
			if ignoredField(data, f[0]) {
				continue
			}
			pos := f[0] + 1 + rng.IntN(f[1]-f[0]-2)
			mutated := bytes.Clone(data)
			mutated[pos] = flipHex(mutated[pos])
			v, err := vectors.Parse(name, mutated)
			if err != nil {
				continue // a parse failure is a detection too
			}
			r := &recorder{}
			walk(r, v)
			if len(r.errs) == 0 {
				t.Errorf("%s: flipping byte %d (%q in %s) went unnoticed", name, pos, data[pos], data[f[0]:min(f[1], f[0]+40)])
			}
		}
	}
}

// flipHex returns another hex digit.
func flipHex(c byte) byte {
	const digits = "0123456789abcdef"
	i := bytes.IndexByte([]byte(digits), c)
	return digits[(i+1+i%7)%16]
}

// ignoredField reports whether the hex field starting at off is one the
// vectors carry but nothing derives from: corestore 7 ignores a session's
// primaryKey option, so a v7 file's otherPrimaryKey is unused by design.
func ignoredField(data []byte, off int) bool {
	return bytes.Contains(data, []byte(`"impl": "v7"`)) &&
		bytes.HasSuffix(bytes.TrimRight(data[:off], " :"), []byte(`"otherPrimaryKey"`))
}
