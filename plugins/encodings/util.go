package encodings

import (
	"github.com/corebridge/corebridge/plugins"
	"google.golang.org/grpc/codes"
)

// errorTable says how the sentinel errors of this package travel across the
// plugin boundary.
var errorTable = plugins.ErrorTable{
	{Err: ErrInvalidValue, Code: codes.InvalidArgument, Reason: "INVALID_VALUE"},
	{Err: ErrInvalidBlock, Code: codes.DataLoss, Reason: "INVALID_BLOCK"},
	{Err: ErrUnsupportedFormat, Code: codes.Unimplemented, Reason: "UNSUPPORTED_FORMAT"},
	{Err: ErrNotRepresentable, Code: codes.FailedPrecondition, Reason: "NOT_REPRESENTABLE"},
}

func formatsToProto(fs []Format) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

func formatsFromProto(ss []string) []Format {
	out := make([]Format, len(ss))
	for i, s := range ss {
		out[i] = Format(s)
	}
	return out
}

// nonNil returns bs, or an empty batch for nil, so that a batch always
// comes back as a slice.
func nonNil(bs [][]byte) [][]byte {
	if bs == nil {
		return [][]byte{}
	}
	return bs
}
