package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"

	"golang.org/x/image/draw"
)

// scaled returns img resized to size×size, PNG-encoded.
func scaled(img image.Image, size int) ([]byte, error) {
	dst := image.NewNRGBA(image.Rect(0, 0, size, size))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func checkSquare(img image.Image, min int) error {
	b := img.Bounds()
	if b.Dx() != b.Dy() || b.Dx() < min {
		return fmt.Errorf("icon is %dx%d; want a square of at least %d pixels", b.Dx(), b.Dy(), min)
	}
	return nil
}

// icoSizes are the sizes in the Windows icon (Explorer, Start menu, the
// "Apps" list of Settings).
var icoSizes = []int{16, 24, 32, 48, 64, 256}

// ICO encodes img as a Windows .ico with PNG-compressed images (Windows
// Vista and later) in icoSizes.
func ICO(img image.Image) ([]byte, error) {
	if err := checkSquare(img, 256); err != nil {
		return nil, err
	}
	var images [][]byte
	for _, s := range icoSizes {
		p, err := scaled(img, s)
		if err != nil {
			return nil, err
		}
		images = append(images, p)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	// ICONDIR: reserved, type 1 (icon), count.
	b.Write(le.AppendUint16(nil, 0))
	b.Write(le.AppendUint16(nil, 1))
	b.Write(le.AppendUint16(nil, uint16(len(images))))
	offset := 6 + 16*len(images)
	for i, s := range icoSizes {
		dim := byte(s)
		if s >= 256 {
			dim = 0 // 0 means 256
		}
		// ICONDIRENTRY: width, height, palette size, reserved, planes,
		// bits per pixel, data size, data offset.
		b.Write([]byte{dim, dim, 0, 0})
		b.Write(le.AppendUint16(nil, 1))
		b.Write(le.AppendUint16(nil, 32))
		b.Write(le.AppendUint32(nil, uint32(len(images[i]))))
		b.Write(le.AppendUint32(nil, uint32(offset)))
		offset += len(images[i])
	}
	for _, p := range images {
		b.Write(p)
	}
	return b.Bytes(), nil
}

// icnsTypes are the PNG icon types of a macOS .icns and their pixel sizes.
var icnsTypes = []struct {
	typ  string
	size int
}{
	{"icp4", 16},  // 16x16
	{"icp5", 32},  // 32x32
	{"ic11", 32},  // 16x16@2x
	{"ic12", 64},  // 32x32@2x
	{"ic07", 128}, // 128x128
	{"ic08", 256}, // 256x256
	{"ic13", 256}, // 128x128@2x
}

// ICNS encodes img as a macOS .icns holding PNG images (the format
// iconutil writes), up to 256x256, the size of assets/icon.png.
func ICNS(img image.Image) ([]byte, error) {
	if err := checkSquare(img, 256); err != nil {
		return nil, err
	}
	var body bytes.Buffer
	be := binary.BigEndian
	for _, t := range icnsTypes {
		p, err := scaled(img, t.size)
		if err != nil {
			return nil, err
		}
		body.WriteString(t.typ)
		body.Write(be.AppendUint32(nil, uint32(8+len(p))))
		body.Write(p)
	}
	var b bytes.Buffer
	b.WriteString("icns")
	b.Write(be.AppendUint32(nil, uint32(8+body.Len())))
	b.Write(body.Bytes())
	return b.Bytes(), nil
}
