package cas_test

import (
	"testing"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/cas/blobstoretest"
)

func TestMemoryStoreConformance(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) cas.BlobStore { return cas.NewMemoryStore() })
}
