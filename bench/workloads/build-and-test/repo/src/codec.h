/* libcodec: base64 (standard and URL-safe), CRC-32 and hex, for the gateway's hot paths. */
#ifndef CODEC_H
#define CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length of n bytes, without the terminating NUL. */
size_t b64_encoded_len(size_t n);
/* Encode; url selects the URL-safe alphabet (no padding). Returns the length written. */
size_t b64_encode(const uint8_t *in, size_t n, char *out, int url);
/* Decode; padding is optional. Returns the length written, or -1 on a bad character. */
long b64_decode(const char *in, size_t n, uint8_t *out, int url);

uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t n);
uint32_t crc32(const uint8_t *data, size_t n);

size_t hex_encode(const uint8_t *in, size_t n, char *out);
long hex_decode(const char *in, size_t n, uint8_t *out);

#endif
