package corestore

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/corebridge/corebridge/core"
	"golang.org/x/crypto/blake2b"
)

// NS is corestore's key-derivation namespace: namespace("corestore", 1)[0].
var NS = core.Namespace("corestore", 1)[0]

// DefaultNamespace is the namespace of a root store: 32 zero bytes.
var DefaultNamespace [32]byte

// ChildNamespace returns the namespace that Namespace(name) gives under
// parent: BLAKE2b-256(parent || name).
func ChildNamespace(parent [32]byte, name []byte) [32]byte {
	h, _ := blake2b.New256(nil)
	h.Write(parent[:])
	h.Write(name)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// DeriveSeed returns the ed25519 seed of name in namespace:
// BLAKE2b-256 keyed with primaryKey over NS || namespace || name.
func DeriveSeed(primaryKey, namespace [32]byte, name []byte) [32]byte {
	h, _ := blake2b.New256(primaryKey[:])
	h.Write(NS[:])
	h.Write(namespace[:])
	h.Write(name)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// DeriveKeyPair returns the key pair corestore derives for name.
func DeriveKeyPair(primaryKey, namespace [32]byte, name []byte) core.KeyPair {
	return core.KeyPairFromSeed(DeriveSeed(primaryKey, namespace, name))
}

// PrimaryKeyFile is the name of the primary key file inside a store's
// directory.
const PrimaryKeyFile = "primary-key"

// LoadPrimaryKey returns the primary key kept in dir/primary-key. When the
// file is missing or shorter than 32 bytes it writes override, or 32 fresh
// random bytes, durably, with mode 0600. When the file exists and override is
// given, override wins and the file is left alone, as corestore 6 does.
func LoadPrimaryKey(dir string, override []byte) ([32]byte, error) {
	var key [32]byte
	if override != nil && len(override) != 32 {
		return key, fmt.Errorf("primary key is %d bytes, want 32", len(override))
	}
	path := filepath.Join(dir, PrimaryKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(b) >= 32:
		if override != nil {
			copy(key[:], override)
		} else {
			copy(key[:], b[:32])
		}
		return key, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return key, fmt.Errorf("read primary key: %w", err)
	}
	if override != nil {
		copy(key[:], override)
	} else if _, err := rand.Read(key[:]); err != nil {
		return key, fmt.Errorf("make primary key: %w", err)
	}
	if err := writeFileDurably(dir, PrimaryKeyFile, key[:]); err != nil {
		return [32]byte{}, fmt.Errorf("write primary key: %w", err)
	}
	return key, nil
}

// writeFileDurably writes dir/name through a temporary file, fsyncs it,
// renames it into place and fsyncs the directory, so a crash leaves either
// nothing or the whole file.
func writeFileDurably(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, name+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// sameKey reports whether a key pair's public key is pub.
func sameKey(kp core.KeyPair, pub []byte) bool { return bytes.Equal(kp.PublicKey, pub) }
