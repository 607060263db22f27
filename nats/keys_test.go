package nats

import (
	"encoding/hex"
	"strings"
	"testing"
)

// Keys and ids written by JavaScript corestore (vectors/public-v7.json and
// public-v6.json): the id is hypercore-id-encoding's z-base-32 of the key.
var idVectors = []struct{ hex, z32 string }{
	{"8688e26eecddc2d4b0a5452a4275333de9bab59426f3c30477d09304e07f4131", "o4rqr5zc5zbpjcffewirr7ju8zw5ipcwr53hgbdz4njojad9erao"},
	{"1730a95ad2debc7f9d91a94a3570cf1f075ac2c3f420ea863a54882b0da27eb3", "nhak1ss1546898ctiffdkhgxdhdiiosd6ooqibt4k1rnsdpnx43o"},
	{"6c7f8e80c973122fb8e5a0baa392e96542f9765cf345210581f88ec5927c51da", "pt9a7ygjqcjn9q8fwn7k8rzjcibx171h6pn1nbcb9n8cmruhk8py"},
	{"36f53a9ce05fb734550bc4165825fdb3644010013c0e6c1e01b40ef4d6d464a9", "g54ui88ym65ueiemaomfojx7sp1ryryb8o8ga8obso8xjiswc1wo"},
}

func mustHexKey(t testing.TB, s string) [32]byte {
	t.Helper()
	var k [32]byte
	if n, err := hex.Decode(k[:], []byte(s)); err != nil || n != 32 {
		t.Fatalf("bad test key %q: %v", s, err)
	}
	return k
}

func TestKeyEncodingsMatchHypercore(t *testing.T) {
	for _, v := range idVectors {
		k := mustHexKey(t, v.hex)
		if got := KeyHex(k); got != v.hex {
			t.Errorf("KeyHex = %s, want %s", got, v.hex)
		}
		if got := KeyZ32(k); got != v.z32 {
			t.Errorf("KeyZ32(%s) = %s, want %s", v.hex, got, v.z32)
		}
		for _, in := range []string{
			v.hex, strings.ToUpper(v.hex), v.z32, strings.ToUpper(v.z32),
			"pear://" + v.z32, "pear://" + v.z32 + "/app/index.html", "pear://" + v.hex + "/",
		} {
			got, err := ParseKey(in)
			if err != nil {
				t.Errorf("ParseKey(%q): %v", in, err)
				continue
			}
			if got != k {
				t.Errorf("ParseKey(%q) = %x, want %s", in, got, v.hex)
			}
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	z := idVectors[0].z32
	tests := []struct{ in, want string }{
		{"", `key "" is neither 64 hex characters nor 52 z-base-32 characters`},
		{"abc", `key "abc" is neither 64 hex characters nor 52 z-base-32 characters`},
		{idVectors[0].hex + "00", `is neither 64 hex characters nor 52 z-base-32 characters`},
		{strings.Repeat("g", 64), `is not valid hex`},
		// '0' and 'l' and 'v' are not in the z-base-32 alphabet.
		{"0" + z[1:], `"0" at position 1 is not a z-base-32 character`},
		{z[:51] + "l", `"l" at position 52 is not a z-base-32 character`},
		// The last character carries 4 padding bits, which must be zero:
		// 'o' is 0b10000 (a data bit only); 'y' is 0; 'b' is 1, a padding bit.
		{z[:51] + "b", `its last character must encode zero padding bits`},
		// Without pear:// a path is not stripped.
		{z + "/x", `is neither 64 hex characters nor 52 z-base-32 characters`},
		{"http://" + z, `is neither 64 hex characters nor 52 z-base-32 characters`},
	}
	for _, tt := range tests {
		_, err := ParseKey(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseKey(%q) = %v, want error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestParseKeyToken(t *testing.T) {
	h := idVectors[0].hex
	if k, err := parseKeyToken(h); err != nil || KeyHex(k) != h {
		t.Errorf("parseKeyToken(%s) = %x, %v", h, k, err)
	}
	for _, bad := range []string{strings.ToUpper(h), idVectors[0].z32, h[:63], h + "0", h[:63] + "g", ""} {
		if _, err := parseKeyToken(bad); err == nil {
			t.Errorf("parseKeyToken(%q) accepted a key that is not 64 lowercase hex", bad)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, v := range idVectors {
		f.Add(v.hex)
		f.Add(v.z32)
		f.Add("pear://" + v.z32 + "/x")
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			return
		}
		// Whatever was accepted is a key both encodings give back.
		for _, enc := range []string{KeyHex(k), KeyZ32(k)} {
			k2, err := ParseKey(enc)
			if err != nil || k2 != k {
				t.Fatalf("ParseKey(%q) = %x, but ParseKey(%q) = %x, %v", s, k, enc, k2, err)
			}
		}
		// Accepted input is one of the two encodings, up to case.
		id := strings.TrimPrefix(s, "pear://")
		if len(id) != len(s) {
			id, _, _ = strings.Cut(id, "/")
		}
		if !strings.EqualFold(id, KeyHex(k)) && !strings.EqualFold(id, KeyZ32(k)) {
			t.Fatalf("ParseKey(%q) = %x, which encodes as neither %q nor %q", s, k, KeyHex(k), KeyZ32(k))
		}
		if len(KeyZ32(k)) != 52 {
			t.Fatalf("KeyZ32 gave %d characters", len(KeyZ32(k)))
		}
	})
}
