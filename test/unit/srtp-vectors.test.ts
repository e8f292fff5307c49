import { createCipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SrtpContext } from '../../gateway/media/srtp/index.js';
// Known-answer tests below the public API need the internal building blocks.
import { AesCounterMode } from '../../gateway/media/srtp/aes-cm.js';
import { AesGcmCipher } from '../../gateway/media/srtp/aes-gcm.js';
import { deriveSessionKeys } from '../../gateway/media/srtp/kdf.js';
import { srtpKeyLengths } from '../../gateway/media/srtp/index.js';
import { AUTH_KEY_LENGTH, type SuiteParameters } from '../../gateway/media/srtp/suites.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const AES_CM_80: SuiteParameters = {
  transform: 'aes-cm-hmac-sha1',
  ...srtpKeyLengths('AES_CM_128_HMAC_SHA1_80'),
  rtpTagLength: 10,
  rtcpTagLength: 10,
};

describe('RFC 3711 Appendix B', () => {
  it('B.2: AES-CM keystream', () => {
    const aes = new AesCounterMode(hex('2B7E151628AED2A6ABF7158809CF4F3C'));
    const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
    const stream = aes.keystream(iv, 0xff02 * 16);
    expect(stream.subarray(0, 48)).toEqual(
      hex('E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0'),
    );
    expect(stream.subarray(0xfeff * 16)).toEqual(
      hex('EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44'),
    );
  });

  it('B.2: XOR-ing the keystream into an unaligned buffer matches the keystream', () => {
    const aes = new AesCounterMode(hex('2B7E151628AED2A6ABF7158809CF4F3C'));
    const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
    const data = Buffer.alloc(51);
    aes.xorInPlace(iv, data, 3, 51);
    expect(data.subarray(3, 19)).toEqual(hex('E03EAD0935C95E80E166B16DD92B4EB4'));
    expect(data.subarray(0, 3)).toEqual(Buffer.alloc(3));
  });

  it('B.3: key derivation', () => {
    const { rtp } = deriveSessionKeys(
      hex('E1F97A0D3E018BE0D64FA32C06DE4139'),
      hex('0EC675AD498AFEEBB6960B3AABE6'),
      AES_CM_80,
    );
    expect(rtp.encryptionKey).toEqual(hex('C61E7A93744F39EE10734AFE3FF7A087'));
    expect(rtp.salt).toEqual(hex('30CBBC08863D8C85D49DB34A9AE1'));
    expect(rtp.authenticationKey).toHaveLength(AUTH_KEY_LENGTH);
    expect(rtp.authenticationKey).toEqual(hex('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4'));
  });
});

describe('libsrtp reference packets (srtp_driver.c)', () => {
  const rtp = hex('800f1234decafbad cafebabe abababababababababababababababab');
  const rtcp = hex('81c8000bcafebabe abababababababababababababababab');

  it('AES_CM_128_HMAC_SHA1_80 SRTP and SRTCP', () => {
    const key = hex('e1f97a0d3e018be0d64fa32c06de4139');
    const salt = hex('0ec675ad498afeebb6960b3aabe6');
    const sender = new SrtpContext('AES_CM_128_HMAC_SHA1_80', key, salt);
    const srtp = hex('800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb');
    // libsrtp's reference SRTCP packet carries index 1, so it is the second one sent.
    const srtcp = hex('81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798');
    expect(sender.protect(rtp)).toEqual(srtp);
    sender.protectRtcp(rtcp);
    expect(sender.protectRtcp(rtcp)).toEqual(srtcp);

    const receiver = new SrtpContext('AES_CM_128_HMAC_SHA1_80', key, salt);
    expect(receiver.unprotect(srtp)).toEqual(rtp);
    expect(receiver.unprotectRtcp(srtcp)).toEqual(rtcp);
  });

  it('AEAD_AES_128_GCM SRTP and SRTCP from a master key (checks the 12-byte salt in the KDF)', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f');
    const salt = hex('a0a1a2a3a4a5a6a7a8a9aaab');
    const sender = new SrtpContext('AEAD_AES_128_GCM', key, salt);
    const srtp = hex(
      '800f1234decafbadcafebabe c5002ede04cfdd2eb91159e0880aa06e d2976826f796b201df3131a127e8a392',
    );
    const srtcp = hex(
      '81c8000bcafebabe c98b8b5df0392a55852b6c21ac8e7025 c52c6fbea2b3b446ea31123ba88ce61e 80000001',
    );
    expect(sender.protect(rtp)).toEqual(srtp);
    sender.protectRtcp(rtcp);
    expect(sender.protectRtcp(rtcp)).toEqual(srtcp);

    const receiver = new SrtpContext('AEAD_AES_128_GCM', key, salt);
    expect(receiver.unprotect(srtp)).toEqual(rtp);
    expect(receiver.unprotectRtcp(srtcp)).toEqual(rtcp);
  });
});

describe('RFC 7714 §16/§17 (session keys given directly)', () => {
  const salt = hex('517569642070726f2071756f');
  const key128 = hex('000102030405060708090a0b0c0d0e0f');
  const key256 = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const cipher = (key: Buffer) => new AesGcmCipher({ encryptionKey: key, salt, authenticationKey: Buffer.alloc(0) });

  const rtpHeader = '8040f17b8041f8d35501a0b2';
  const rtp = hex(rtpHeader + '47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573');
  const ssrc = 0x5501a0b2;
  const index = 0xf17b; // ROC 0

  const rtcpHeader = '81c8000d4d617273';
  const rtcp = hex(
    rtcpHeader + '4e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef',
  );
  const rtcpSsrc = 0x4d617273;
  const srtcpIndex = 0x5d4;

  it.each([
    [
      '§16.1 AEAD_AES_128_GCM',
      key128,
      'f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833 899d7f27beb16a9152cf765ee4390cce',
    ],
    [
      '§16.2 AEAD_AES_256_GCM',
      key256,
      '32b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b 7aa3db36dfffd6b0f9bb7878d7a76c13',
    ],
  ])('%s SRTP encryption and decryption', (_name, key, body) => {
    const srtp = hex(rtpHeader + body);
    expect(cipher(key).sealRtp(rtp, 12, ssrc, index)).toEqual(srtp);
    expect(cipher(key).openRtp(srtp, 12, ssrc, index)).toEqual(rtp);
    const forged = Buffer.from(srtp);
    forged[20] = forged[20]! ^ 1;
    expect(cipher(key).openRtp(forged, 12, ssrc, index)).toBeUndefined();
  });

  it.each([
    [
      '§17.1 AEAD_AES_128_GCM',
      key128,
      '63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275b c84aa45896cf4d2fc5abf87245d9eade',
    ],
    [
      '§17.2 AEAD_AES_256_GCM',
      key256,
      'd50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de0476f1b6fad 1d1eb30c4446839f57ff6f6cb26ac3be',
    ],
  ])('%s SRTCP with E = 1', (_name, key, body) => {
    const srtcp = hex(rtcpHeader + body + '800005d4');
    expect(cipher(key).sealRtcp(rtcp, rtcpSsrc, srtcpIndex)).toEqual(srtcp);
    expect(cipher(key).openRtcp(srtcp, rtcpSsrc, srtcpIndex, true)).toEqual(rtcp);
  });

  it.each([
    ['§17.3 AEAD_AES_128_GCM', key128, '841dd9683dd78ec92ae58790125f62b3'],
    ['§17.4 AEAD_AES_256_GCM', key256, '91db4afbfeee5a978fab4393ed2615fe'],
  ])('%s SRTCP with E = 0 (authenticated, not encrypted)', (_name, key, tag) => {
    const srtcp = Buffer.concat([rtcp, hex(tag + '000005d4')]);
    expect(cipher(key).openRtcp(srtcp, rtcpSsrc, srtcpIndex, false)).toEqual(rtcp);
    const forged = Buffer.from(srtcp);
    forged[12] = forged[12]! ^ 0x80;
    expect(cipher(key).openRtcp(forged, rtcpSsrc, srtcpIndex, false)).toBeUndefined();
  });
});

describe('ROC in the transform (independent computation from the RFC formulas)', () => {
  const rtpAt = (seq: number) => hex('800f' + seq.toString(16).padStart(4, '0') + 'decafbadcafebabe' + 'ab'.repeat(20));
  // Index 65536 + 1: ROC 1, SEQ 1, SSRC 0xcafebabe.
  const send = (context: SrtpContext) => {
    context.protect(rtpAt(0xffff));
    return context.protect(rtpAt(1));
  };

  it('AES_CM_128_HMAC_SHA1_80: IV = salt·2^16 ⊕ SSRC·2^64 ⊕ index·2^16, tag = HMAC(packet ‖ ROC)', () => {
    // Session keys from RFC 3711 B.3 for this master key.
    const iv = hex('30CBBC08863D8C85D49DB34A9AE1 0000');
    for (const [i, byte] of [...hex('cafebabe')].entries()) iv[4 + i] = iv[4 + i]! ^ byte;
    for (const [i, byte] of [...hex('000000010001')].entries()) iv[8 + i] = iv[8 + i]! ^ byte;
    const rtp = rtpAt(1);
    const payload = createCipheriv('aes-128-ctr', hex('C61E7A93744F39EE10734AFE3FF7A087'), iv).update(rtp.subarray(12));
    const authenticated = Buffer.concat([rtp.subarray(0, 12), payload]);
    const tag = createHmac('sha1', hex('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4'))
      .update(authenticated)
      .update(hex('00000001'))
      .digest()
      .subarray(0, 10);
    const context = new SrtpContext(
      'AES_CM_128_HMAC_SHA1_80',
      hex('E1F97A0D3E018BE0D64FA32C06DE4139'),
      hex('0EC675AD498AFEEBB6960B3AABE6'),
    );
    expect(send(context)).toEqual(Buffer.concat([authenticated, tag]));
  });

  it('AEAD_AES_128_GCM: IV = salt ⊕ (0 ‖ SSRC ‖ ROC ‖ SEQ), AAD = header', () => {
    const masterKey = hex('000102030405060708090a0b0c0d0e0f');
    const masterSalt = hex('a0a1a2a3a4a5a6a7a8a9aaab');
    const { rtp: keys } = deriveSessionKeys(masterKey, masterSalt, {
      transform: 'aes-gcm',
      ...srtpKeyLengths('AEAD_AES_128_GCM'),
      rtpTagLength: 16,
      rtcpTagLength: 16,
    });
    const iv = Buffer.from(keys.salt);
    for (const [i, byte] of [...hex('0000cafebabe000000010001')].entries()) iv[i] = iv[i]! ^ byte;
    const rtp = rtpAt(1);
    const cipher = createCipheriv('aes-128-gcm', keys.encryptionKey, iv);
    cipher.setAAD(rtp.subarray(0, 12));
    const payload = Buffer.concat([cipher.update(rtp.subarray(12)), cipher.final()]);
    const expected = Buffer.concat([rtp.subarray(0, 12), payload, cipher.getAuthTag()]);
    expect(send(new SrtpContext('AEAD_AES_128_GCM', masterKey, masterSalt))).toEqual(expected);
  });
});
