package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"

	"github.com/corebridge/corebridge/core"
	pb "github.com/corebridge/corebridge/plugins/storage/proto"
)

// BoltFile is the name of the bolt backend's database file in Config.Dir.
const BoltFile = "storage.db"

// The bolt file layout, version 1:
//
//	meta/version            -> u64be 1
//	cores/<discovery key>/  -> one bucket per core:
//	    h                   -> the header, a protobuf Header (proto/storage.proto)
//	    b/<u64be index>     -> block value
//	    n/<u64be index>     -> node: u64be size || 32-byte hash
//
// Big-endian keys make bucket order index order, so a range of blocks is
// one cursor walk.
var (
	bucketMeta   = []byte("meta")
	bucketCores  = []byte("cores")
	keyVersion   = []byte("version")
	keyHeader    = []byte("h")
	bucketBlocks = []byte("b")
	bucketNodes  = []byte("n")
)

const (
	boltVersion = 1
	nodeBytes   = 8 + 32
	// maxGroup caps how many commits share one bbolt transaction.
	maxGroup = 1024
	// lockTimeout bounds the wait for the file lock, held by another
	// process that has the file open.
	lockTimeout = 10 * time.Second
)

// Bolt is the default Backend: every core in one bbolt database file.
//
// Commits go through one committer goroutine. Commits that arrive while a
// transaction is being written wait and are then applied together in the
// next transaction, with one fsync for all of them; each caller gets its own
// result. If that shared transaction fails, its batches are retried one
// transaction each, so a batch that cannot be applied fails only its own
// caller.
type Bolt struct {
	db     *bbolt.DB
	logger *slog.Logger
	hooks  boltHooks

	queue chan *commitReq
	stop  chan struct{} // closed by Close once no call is in flight
	done  chan struct{} // closed when the committer has returned

	mu     sync.RWMutex // read-held by every call, write-held by Close
	closed bool
}

// boltHooks let tests watch and disturb the committer.
type boltHooks struct {
	beforeGroup func(n int)             // before each shared transaction
	apply       func(dk [32]byte) error // a failure to inject while applying
	maxGroup    int                     // when > 0, replaces maxGroup
}

// commitReq is one caller's batch on its way to the committer.
type commitReq struct {
	dk   [32]byte
	b    *core.Batch
	mu   sync.Mutex
	take int8       // reqPending, reqTaken or reqAbandoned
	done chan error // buffered; receives the result once
}

const (
	reqPending int8 = iota
	reqTaken
	reqAbandoned
)

// settle moves r from pending to to and reports whether it did.
func (r *commitReq) settle(to int8) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.take != reqPending {
		return false
	}
	r.take = to
	return true
}

// OpenBolt opens, creating it if needed, the bolt database at path. It
// waits up to 10 seconds for another process holding the file to let go.
func OpenBolt(path string, logger *slog.Logger) (*Bolt, error) {
	return openBolt(path, logger, boltHooks{})
}

func openBolt(path string, logger *slog.Logger, hooks boltHooks) (*Bolt, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:        lockTimeout,
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: open bolt %s: %w", path, err)
	}
	if err := db.Update(initLayout); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: open bolt %s: %w", path, err)
	}
	s := &Bolt{
		db:     db,
		logger: logger,
		hooks:  hooks,
		queue:  make(chan *commitReq, maxGroup),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go s.commitLoop()
	return s, nil
}

func initLayout(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if v := meta.Get(keyVersion); v != nil {
		if len(v) != 8 || binary.BigEndian.Uint64(v) != boltVersion {
			return fmt.Errorf("%w: unsupported layout version %x", ErrCorrupt, v)
		}
	} else if err := meta.Put(keyVersion, u64(boltVersion)); err != nil {
		return err
	}
	_, err = tx.CreateBucketIfNotExists(bucketCores)
	return err
}

var _ Backend = (*Bolt)(nil)

// enter admits a call unless s is closed; a true result must be paired
// with s.mu.RUnlock.
func (s *Bolt) enter() bool {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return false
	}
	return true
}

// view runs fn in a read transaction.
func (s *Bolt) view(ctx context.Context, fn func(cores *bbolt.Bucket) error) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.mu.RUnlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bbolt.Tx) error { return fn(tx.Bucket(bucketCores)) })
}

// ReadHeader implements Backend.
func (s *Bolt) ReadHeader(ctx context.Context, dk [32]byte) (*core.Header, error) {
	var h *core.Header
	err := s.view(ctx, func(cores *bbolt.Bucket) error {
		cb := cores.Bucket(dk[:])
		if cb == nil {
			return nil
		}
		var err error
		h, err = decodeHeader(dk, cb.Get(keyHeader))
		return err
	})
	return h, err
}

// ReadBlocks implements Backend.
func (s *Bolt) ReadBlocks(ctx context.Context, dk [32]byte, start, end uint64) ([]core.Block, error) {
	var out []core.Block
	err := s.view(ctx, func(cores *bbolt.Bucket) error {
		b := subBucket(cores, dk, bucketBlocks)
		if b == nil || start >= end {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(u64(start)); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				return fmt.Errorf("%w: core %x: block key %x", ErrCorrupt, dk[:8], k)
			}
			i := binary.BigEndian.Uint64(k)
			if i >= end {
				break
			}
			out = append(out, core.Block{Index: i, Value: append(make([]byte, 0, len(v)), v...)})
		}
		return nil
	})
	return out, err
}

// ReadNodes implements Backend.
func (s *Bolt) ReadNodes(ctx context.Context, dk [32]byte, indexes []uint64) ([]core.Node, error) {
	var out []core.Node
	err := s.view(ctx, func(cores *bbolt.Bucket) error {
		b := subBucket(cores, dk, bucketNodes)
		if b == nil {
			return nil
		}
		for _, i := range indexes {
			v := b.Get(u64(i))
			if v == nil {
				continue
			}
			if len(v) != nodeBytes {
				return fmt.Errorf("%w: core %x: node %d of %d bytes", ErrCorrupt, dk[:8], i, len(v))
			}
			n := core.Node{Index: i, Size: binary.BigEndian.Uint64(v)}
			copy(n.Hash[:], v[8:])
			out = append(out, n)
		}
		return nil
	})
	return out, err
}

// List implements Backend.
func (s *Bolt) List(ctx context.Context) ([][32]byte, error) {
	var out [][32]byte
	err := s.view(ctx, func(cores *bbolt.Bucket) error {
		return cores.ForEachBucket(func(k []byte) error {
			if cores.Bucket(k).Get(keyHeader) == nil {
				return nil
			}
			dk, err := discoveryKey(k)
			if err != nil {
				return fmt.Errorf("%w: core bucket %x", ErrCorrupt, k)
			}
			out = append(out, dk)
			return nil
		})
	})
	return out, err
}

// Delete implements Backend.
func (s *Bolt) Delete(ctx context.Context, dk [32]byte) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.mu.RUnlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		err := tx.Bucket(bucketCores).DeleteBucket(dk[:])
		if errors.Is(err, bolterrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}

// Close implements Backend. It waits for the calls in flight, then closes
// the file; ctx is not consulted.
func (s *Bolt) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	return s.db.Close()
}

// Commit implements Backend. The batch waits for the committer; if ctx ends
// while it waits, Commit returns ctx's error and the batch is never
// applied. Once the committer has taken the batch into a transaction,
// Commit returns that transaction's outcome, whatever ctx does.
func (s *Bolt) Commit(ctx context.Context, dk [32]byte, b *core.Batch) error {
	if err := ValidateBatch(b); err != nil {
		return err
	}
	if !s.enter() {
		return ErrClosed
	}
	defer s.mu.RUnlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &commitReq{dk: dk, b: b, done: make(chan error, 1)}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.settle(reqAbandoned) {
			return ctx.Err()
		}
		return <-r.done
	}
}

// commitLoop is the committer: it takes every commit waiting in the queue
// into one transaction, until Close stops it. Close stops it only when no
// Commit is in flight, so nothing is left in the queue.
func (s *Bolt) commitLoop() {
	defer close(s.done)
	for {
		var first *commitReq
		select {
		case first = <-s.queue:
		case <-s.stop:
			return
		}
		group := []*commitReq{first}
		limit := maxGroup
		if s.hooks.maxGroup > 0 {
			limit = s.hooks.maxGroup
		}
	gather:
		for len(group) < limit {
			select {
			case r := <-s.queue:
				group = append(group, r)
			default:
				break gather
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup applies the live commits of group in one transaction, or one
// transaction each when the shared one fails, and answers each caller.
func (s *Bolt) commitGroup(group []*commitReq) {
	live := group[:0]
	for _, r := range group {
		if r.settle(reqTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	if s.hooks.beforeGroup != nil {
		s.hooks.beforeGroup(len(live))
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for _, r := range live {
			if err := s.apply(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(live) == 1 {
		for _, r := range live {
			r.done <- err
		}
		return
	}
	s.logger.Warn("storage: shared bolt transaction failed; committing its batches one by one",
		"batches", len(live), "err", err)
	for _, r := range live {
		r.done <- s.db.Update(func(tx *bbolt.Tx) error { return s.apply(tx, r) })
	}
}

// apply writes one batch: drops first, then blocks, nodes and header.
func (s *Bolt) apply(tx *bbolt.Tx, r *commitReq) error {
	if s.hooks.apply != nil {
		if err := s.hooks.apply(r.dk); err != nil {
			return err
		}
	}
	b := r.b
	cb, err := tx.Bucket(bucketCores).CreateBucketIfNotExists(r.dk[:])
	if err != nil {
		return err
	}
	blocks, err := cb.CreateBucketIfNotExists(bucketBlocks)
	if err != nil {
		return err
	}
	nodes, err := cb.CreateBucketIfNotExists(bucketNodes)
	if err != nil {
		return err
	}
	if b.DropBlocksFrom != nil {
		if err := dropFrom(blocks, *b.DropBlocksFrom); err != nil {
			return err
		}
	}
	for _, i := range b.DropNodes {
		if err := nodes.Delete(u64(i)); err != nil {
			return err
		}
	}
	blocks.FillPercent, nodes.FillPercent = appendFill, appendFill
	for _, blk := range b.Blocks {
		if err := blocks.Put(u64(blk.Index), blk.Value); err != nil {
			return fmt.Errorf("block %d: %w", blk.Index, err)
		}
	}
	for _, n := range b.Nodes {
		v := make([]byte, nodeBytes)
		binary.BigEndian.PutUint64(v, n.Size)
		copy(v[8:], n.Hash[:])
		if err := nodes.Put(u64(n.Index), v); err != nil {
			return err
		}
	}
	if b.Header != nil {
		v, err := proto.Marshal(headerToProto(NormalizeHeader(b.Header)))
		if err != nil {
			return err
		}
		if err := cb.Put(keyHeader, v); err != nil {
			return err
		}
	}
	return nil
}

// appendFill is how full bolt packs the pages of block and node buckets
// when it splits them. Cores grow at the end of their key ranges, so a
// page left half empty by a split (bolt's default) would stay so; packing
// them writes fewer pages per commit.
const appendFill = 0.95

// dropFrom deletes every key of b at or after index from.
func dropFrom(b *bbolt.Bucket, from uint64) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(u64(from)); k != nil; k, _ = c.Next() {
		keys = append(keys, append([]byte{}, k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func decodeHeader(dk [32]byte, v []byte) (*core.Header, error) {
	if v == nil {
		return nil, nil
	}
	var p pb.Header
	if err := proto.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("%w: core %x: header: %v", ErrCorrupt, dk[:8], err)
	}
	h, err := headerFromProto(&p)
	if err != nil {
		return nil, fmt.Errorf("%w: core %x: header: %v", ErrCorrupt, dk[:8], err)
	}
	return h, nil
}

func subBucket(cores *bbolt.Bucket, dk [32]byte, name []byte) *bbolt.Bucket {
	cb := cores.Bucket(dk[:])
	if cb == nil {
		return nil
	}
	return cb.Bucket(name)
}

func u64(i uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), i)
}
