import { configureTextEncoding, getTextEncoding } from '@bufbuild/protobuf/wire';

/**
 * Protobuf strings must be UTF-8, but the generated decoders turn bytes that
 * are not (such as ED A0 80, a lone surrogate written as if it were UTF-8)
 * into U+FFFD without a word, so the text would be stored changed. From the
 * moment this module is loaded, decoding such a string throws; a gRPC server
 * built with service-kit answers that request INVALID_ARGUMENT. This
 * configures the copy of @bufbuild/protobuf the generated code imports.
 */
const defaults = getTextEncoding();
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
configureTextEncoding({
  checkUtf8: (text) => defaults.checkUtf8(text),
  encodeUtf8: (text) => defaults.encodeUtf8(text),
  encodeUtf8Into: (text, into) => defaults.encodeUtf8Into(text, into),
  decodeUtf8: (bytes) => {
    try {
      return strict.decode(bytes);
    } catch {
      throw new TypeError('a string field is not valid UTF-8');
    }
  },
});
