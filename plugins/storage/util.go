package storage

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/plugins"
	pb "github.com/corebridge/corebridge/plugins/storage/proto"
)

// Sizes that keep every message of the plugin protocol well under gRPC's
// default 4 MiB limit, whatever a batch or a read holds.
const (
	chunkBytes     = 1 << 20 // payload per streamed message
	maxHeaderBytes = 3 << 20 // a header travels in one message
	minPartBytes   = 4 << 10 // below this much room, a block starts a new chunk
	partOverhead   = 24      // tags and varints around a BlockPart's value
	nodeWireBytes  = 64      // upper bound of one encoded Node
	indexWireBytes = 10      // upper bound of one varint index
	keyWireBytes   = 34      // one encoded discovery key
)

// errorTable carries the storage sentinels across the plugin boundary.
// ErrUnavailable and the context errors need no entry (see
// plugins.ErrorTable).
var errorTable = plugins.ErrorTable{
	{Err: ErrInvalidBatch, Code: codes.InvalidArgument, Reason: "STORAGE_INVALID_BATCH"},
	{Err: ErrClosed, Code: codes.FailedPrecondition, Reason: "STORAGE_CLOSED"},
	{Err: ErrCorrupt, Code: codes.DataLoss, Reason: "STORAGE_CORRUPT"},
	{Err: errProtocolViolation, Code: codes.Internal, Reason: "STORAGE_PROTOCOL"},
}

// toStatus turns an error of a Backend into the status the server returns.
func toStatus(err error) error { return errorTable.ToStatus(err) }

// fromStatus turns the error of a gRPC call back into one that matches the
// sentinel it was made from.
func fromStatus(err error) error { return errorTable.FromStatus(err) }

// errProtocolViolation reports a message that breaks the plugin protocol:
// a host and a plugin that disagree about it.
var errProtocolViolation = errors.New("storage: plugin protocol violation")

func errProtocol(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errProtocolViolation, fmt.Sprintf(format, args...))
}

func discoveryKey(b []byte) ([32]byte, error) {
	var dk [32]byte
	if len(b) != len(dk) {
		return dk, errProtocol("discovery key of %d bytes", len(b))
	}
	copy(dk[:], b)
	return dk, nil
}

func headerToProto(h *core.Header) *pb.Header {
	if h == nil {
		return nil
	}
	return &pb.Header{
		Key:       h.Key[:],
		Manifest:  h.Manifest,
		Fork:      h.Fork,
		Length:    h.Length,
		Signature: h.Signature,
		UserData:  h.UserData,
	}
}

// headerFromProto returns the header p carries, normalised as
// NormalizeHeader describes; it does not alias p.
func headerFromProto(p *pb.Header) (*core.Header, error) {
	if p == nil {
		return nil, nil
	}
	h := &core.Header{
		Manifest:  p.Manifest,
		Fork:      p.Fork,
		Length:    p.Length,
		Signature: p.Signature,
		UserData:  p.UserData,
	}
	if len(p.Key) != len(h.Key) {
		return nil, errProtocol("header key of %d bytes", len(p.Key))
	}
	copy(h.Key[:], p.Key)
	return NormalizeHeader(h), nil
}

func nodeToProto(n core.Node) *pb.Node {
	return &pb.Node{Index: n.Index, Size: n.Size, Hash: n.Hash[:]}
}

func nodeFromProto(p *pb.Node) (core.Node, error) {
	n := core.Node{Index: p.Index, Size: p.Size}
	if len(p.Hash) != len(n.Hash) {
		return n, errProtocol("node %d hash of %d bytes", p.Index, len(p.Hash))
	}
	copy(n.Hash[:], p.Hash)
	return n, nil
}

// chunker counts the bytes of the message being filled and starts a new
// one (through next) when the next item would take it past chunkBytes.
type chunker struct {
	size int
	next func()
}

// reserve makes room for n more bytes in the current message.
func (c *chunker) reserve(n int) {
	if c.size > 0 && c.size+n > chunkBytes {
		c.next()
		c.size = 0
	}
	c.size += n
}

// block hands blk to add as one BlockPart, or as several when its value
// does not fit the room left in the current message. Values are not copied.
func (c *chunker) block(blk core.Block, add func(*pb.BlockPart)) {
	v := blk.Value
	for {
		room := chunkBytes - c.size - partOverhead
		if len(v) <= room {
			add(&pb.BlockPart{Index: blk.Index, Value: v})
			c.size += partOverhead + len(v)
			return
		}
		if room >= minPartBytes {
			add(&pb.BlockPart{Index: blk.Index, Value: v[:room], More: true})
			v = v[room:]
		}
		c.next()
		c.size = 0
	}
}

// assembler puts blocks back together from BlockParts.
type assembler struct {
	blocks []core.Block
	open   bool // the last block continues in the next part
}

func (a *assembler) add(p *pb.BlockPart) error {
	if a.open {
		last := &a.blocks[len(a.blocks)-1]
		if p.Index != last.Index {
			return errProtocol("block %d interrupted by block %d", last.Index, p.Index)
		}
		last.Value = append(last.Value, p.Value...)
	} else {
		v := p.Value
		if v == nil {
			v = []byte{}
		}
		a.blocks = append(a.blocks, core.Block{Index: p.Index, Value: v})
	}
	a.open = p.More
	return nil
}

func (a *assembler) finish() ([]core.Block, error) {
	if a.open {
		return nil, errProtocol("block %d cut short", a.blocks[len(a.blocks)-1].Index)
	}
	return a.blocks, nil
}

// commitChunks splits one batch into the messages of a Commit call, the
// last marked last.
func commitChunks(dk [32]byte, b *core.Batch) ([]*pb.CommitChunk, error) {
	cur := &pb.CommitChunk{
		DiscoveryKey:   dk[:],
		DropBlocksFrom: b.DropBlocksFrom,
		Header:         headerToProto(b.Header),
	}
	chunks := []*pb.CommitChunk{cur}
	c := chunker{next: func() {
		cur = &pb.CommitChunk{}
		chunks = append(chunks, cur)
	}}
	if cur.Header != nil {
		n := proto.Size(cur.Header)
		if n > maxHeaderBytes {
			return nil, fmt.Errorf("%w: header of %d bytes is over the plugin protocol's %d", ErrInvalidBatch, n, maxHeaderBytes)
		}
		c.size = n
	}
	for _, i := range b.DropNodes {
		c.reserve(indexWireBytes)
		cur.DropNodes = append(cur.DropNodes, i)
	}
	for _, n := range b.Nodes {
		c.reserve(nodeWireBytes)
		cur.Nodes = append(cur.Nodes, nodeToProto(n))
	}
	for _, blk := range b.Blocks {
		c.block(blk, func(p *pb.BlockPart) { cur.Blocks = append(cur.Blocks, p) })
	}
	cur.Last = true
	return chunks, nil
}

// errGaveUp reports a Commit call whose host stopped before the last chunk.
var errGaveUp = fmt.Errorf("commit given up before its last chunk: %w", context.Canceled)

// batchFromChunks is the inverse of commitChunks: it reads chunks with recv
// up to the one marked last.
func batchFromChunks(recv func() (*pb.CommitChunk, error)) (dk [32]byte, b *core.Batch, err error) {
	b = &core.Batch{}
	var asm assembler
	for first := true; ; first = false {
		ch, err := recv()
		if err == io.EOF {
			return dk, nil, errGaveUp
		}
		if err != nil {
			return dk, nil, err
		}
		if ch.Abort {
			return dk, nil, errProtocol("abort before the last chunk")
		}
		if first {
			if dk, err = discoveryKey(ch.DiscoveryKey); err != nil {
				return dk, nil, err
			}
			b.DropBlocksFrom = ch.DropBlocksFrom
			if b.Header, err = headerFromProto(ch.Header); err != nil {
				return dk, nil, err
			}
		}
		b.DropNodes = append(b.DropNodes, ch.DropNodes...)
		for _, p := range ch.Nodes {
			n, err := nodeFromProto(p)
			if err != nil {
				return dk, nil, err
			}
			b.Nodes = append(b.Nodes, n)
		}
		for _, p := range ch.Blocks {
			if err := asm.add(p); err != nil {
				return dk, nil, err
			}
		}
		if ch.Last {
			break
		}
	}
	if b.Blocks, err = asm.finish(); err != nil {
		return dk, nil, err
	}
	return dk, b, nil
}
