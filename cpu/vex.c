/*
 * fugu — the VEX opcode space as data (see vex.h). Sources: SDM vol. 2D,
 * tables A-3 (0F), A-4 (0F 38) and A-5 (0F 3A), the "v" entries; each
 * instruction's page in vol. 2 for its VEX.L/VEX.W/VEX.vvvv encoding
 * (VEX.128/256/LIG/LZ, W0/W1/WIG, NDS/NDD/DDS) and its exception class.
 */
#include "cpu/vex.h"

/* clang-format off: the rows are a table, laid out by hand */
#define ROW(...) ROW_(__VA_ARGS__) /* lets PK and SC() supply two or three arguments */
#define ROW_(k, ft, r, v, m, a, b, fl)                                                             \
	{                                                                                          \
		.flags = (fl), .kind = VK_##k, .feat = FEAT_##ft, .reg = VO_##r, .vvvv = VO_##v,   \
		.rm = VO_##m, .m128 = (a), .m256 = (b)                                             \
	}
/* the common shapes: reg = vvvv op rm (NDS), reg = op rm (vvvv unused) */
#define NDS(ft, ...) ROW(HOST, ft, V, V, V, __VA_ARGS__)
#define UN(ft, ...) ROW(HOST, ft, V, N, V, __VA_ARGS__)
#define PK (16), (32) /* a full vector */
#define FP VF_MX
#define SC(n) (n), (n), VF_LIG | VF_MX     /* scalar floating point */
#define INT(fl) NDS(AVX, PK, VF_I2 | (fl)) /* a promoted integer form: 256 needs AVX2 */
#define GRP(ft, fl, ex)                                                                            \
	{                                                                                          \
		.flags = (fl) | VF_NOMEM | VF_IMM, .kind = VK_HOST, .feat = FEAT_##ft,             \
		.reg = VO_N, .vvvv = VO_V, .rm = VO_V, .m128 = 16, .m256 = 32, .exts = (ex)        \
	}
#define FMA_P NDS(FMA, PK, VF_WK | VF_MX)
#define FMA_S NDS(FMA, 4, 4, VF_WK | VF_WSZ | VF_LIG | VF_MX)
#define FMA3(o)                                                                                    \
	[o] = FMA_P, [o + 1] = FMA_P, [o + 2] = FMA_P, [o + 3] = FMA_S, [o + 4] = FMA_P,           \
	[o + 5] = FMA_S, [o + 6] = FMA_P, [o + 7] = FMA_S, [o + 8] = FMA_P, [o + 9] = FMA_S

static const struct vexrow rows[3][4][256] = {
	/* ---- 0F ---- */
	[0][0] = {
		[0x10] = UN(AVX, PK, 0), [0x11] = UN(AVX, PK, VF_STORE),
		[0x12] = NDS(AVX, 8, 8, VF_L0), /* VMOVLPS m64 / VMOVHLPS */
		[0x13] = UN(AVX, 8, 8, VF_L0 | VF_STORE | VF_NOREG),
		[0x14] = NDS(AVX, PK, 0), [0x15] = NDS(AVX, PK, 0),
		[0x16] = NDS(AVX, 8, 8, VF_L0), /* VMOVHPS m64 / VMOVLHPS */
		[0x17] = UN(AVX, 8, 8, VF_L0 | VF_STORE | VF_NOREG),
		[0x28] = UN(AVX, PK, VF_ALIGN), [0x29] = UN(AVX, PK, VF_ALIGN | VF_STORE),
		[0x2b] = UN(AVX, PK, VF_ALIGN | VF_STORE | VF_NOREG),
		[0x2e] = UN(AVX, SC(4)), [0x2f] = UN(AVX, SC(4)),
		[0x50] = ROW(HOST, AVX, G, N, V, 0, 0, VF_NOMEM),
		[0x51] = UN(AVX, PK, FP), [0x52] = UN(AVX, PK, FP), [0x53] = UN(AVX, PK, FP),
		[0x54 ... 0x57] = NDS(AVX, PK, 0),
		[0x58] = NDS(AVX, PK, FP), [0x59] = NDS(AVX, PK, FP),
		[0x5a] = UN(AVX, 8, 16, FP), [0x5b] = UN(AVX, PK, FP),
		[0x5c ... 0x5f] = NDS(AVX, PK, FP),
		[0x77] = ROW(ZERO, AVX, N, N, N, 0, 0, 0),
		[0xae] = { .flags = VF_L0 | VF_NOREG, .kind = VK_MXCSR, .feat = FEAT_AVX, .reg = VO_N,
			   .vvvv = VO_N, .rm = VO_V, .m128 = 4, .m256 = 4, .exts = 0x0c },
		[0xc2] = NDS(AVX, PK, FP | VF_IMM), [0xc6] = NDS(AVX, PK, VF_IMM),
	},
	[0][1] = {
		[0x10] = UN(AVX, PK, 0), [0x11] = UN(AVX, PK, VF_STORE),
		[0x12] = NDS(AVX, 8, 8, VF_L0 | VF_NOREG), /* VMOVLPD */
		[0x13] = UN(AVX, 8, 8, VF_L0 | VF_STORE | VF_NOREG),
		[0x14] = NDS(AVX, PK, 0), [0x15] = NDS(AVX, PK, 0),
		[0x16] = NDS(AVX, 8, 8, VF_L0 | VF_NOREG), /* VMOVHPD */
		[0x17] = UN(AVX, 8, 8, VF_L0 | VF_STORE | VF_NOREG),
		[0x28] = UN(AVX, PK, VF_ALIGN), [0x29] = UN(AVX, PK, VF_ALIGN | VF_STORE),
		[0x2b] = UN(AVX, PK, VF_ALIGN | VF_STORE | VF_NOREG),
		[0x2e] = UN(AVX, SC(8)), [0x2f] = UN(AVX, SC(8)),
		[0x50] = ROW(HOST, AVX, G, N, V, 0, 0, VF_NOMEM),
		[0x51] = UN(AVX, PK, FP),
		[0x54 ... 0x57] = NDS(AVX, PK, 0),
		[0x58] = NDS(AVX, PK, FP), [0x59] = NDS(AVX, PK, FP),
		[0x5a] = UN(AVX, PK, FP), [0x5b] = UN(AVX, PK, FP),
		[0x5c ... 0x5f] = NDS(AVX, PK, FP),
		[0x60 ... 0x6d] = INT(0),
		[0x6e] = ROW(HOST, AVX, V, N, G, 4, 4, VF_L0 | VF_WG | VF_WSZ),
		[0x6f] = UN(AVX, PK, VF_ALIGN),
		[0x70] = UN(AVX, PK, VF_I2 | VF_IMM),
		[0x71] = GRP(AVX, VF_I2, 0x54), [0x72] = GRP(AVX, VF_I2, 0x54),
		[0x73] = GRP(AVX, VF_I2, 0xcc),
		[0x74 ... 0x76] = INT(0),
		[0x7c] = NDS(AVX, PK, FP), [0x7d] = NDS(AVX, PK, FP),
		[0x7e] = ROW(HOST, AVX, V, N, G, 4, 4, VF_L0 | VF_WG | VF_WSZ | VF_STORE),
		[0x7f] = UN(AVX, PK, VF_ALIGN | VF_STORE),
		[0xc2] = NDS(AVX, PK, FP | VF_IMM),
		[0xc4] = ROW(HOST, AVX, V, V, G, 2, 2, VF_L0 | VF_IMM),
		[0xc5] = ROW(HOST, AVX, G, N, V, 0, 0, VF_L0 | VF_NOMEM | VF_IMM),
		[0xc6] = NDS(AVX, PK, VF_IMM),
		[0xd0] = NDS(AVX, PK, FP),
		[0xd1 ... 0xd3] = NDS(AVX, 16, 16, VF_I2), /* shifts by xmm/m128 */
		[0xd4 ... 0xd5] = INT(0),
		[0xd6] = UN(AVX, 8, 8, VF_L0 | VF_STORE),
		[0xd7] = ROW(HOST, AVX, G, N, V, 0, 0, VF_NOMEM | VF_I2),
		[0xd8 ... 0xe0] = INT(0),
		[0xe1 ... 0xe2] = NDS(AVX, 16, 16, VF_I2),
		[0xe3 ... 0xe5] = INT(0),
		[0xe6] = UN(AVX, PK, FP),
		[0xe7] = UN(AVX, PK, VF_ALIGN | VF_STORE | VF_NOREG),
		[0xe8 ... 0xef] = INT(0),
		[0xf1 ... 0xf3] = NDS(AVX, 16, 16, VF_I2),
		[0xf4 ... 0xf6] = INT(0),
		[0xf7] = ROW(MASKDQU, AVX, V, N, V, 0, 0, VF_L0 | VF_NOMEM),
		[0xf8 ... 0xfe] = INT(0),
	},
	[0][2] = {
		[0x10] = ROW(HOST, AVX, V, V, V, 4, 4, VF_LIG | VF_VSR),
		[0x11] = ROW(HOST, AVX, V, V, V, 4, 4, VF_LIG | VF_VSR | VF_STORE),
		[0x12] = UN(AVX, PK, 0), [0x16] = UN(AVX, PK, 0),
		[0x2a] = ROW(HOST, AVX, V, V, G, 4, 4, VF_LIG | VF_WG | VF_WSZ | FP),
		[0x2c] = ROW(HOST, AVX, G, N, V, 4, 4, VF_LIG | VF_WG | FP),
		[0x2d] = ROW(HOST, AVX, G, N, V, 4, 4, VF_LIG | VF_WG | FP),
		[0x51] = NDS(AVX, SC(4)), [0x52] = NDS(AVX, SC(4)), [0x53] = NDS(AVX, SC(4)),
		[0x58] = NDS(AVX, SC(4)), [0x59] = NDS(AVX, SC(4)), [0x5a] = NDS(AVX, SC(4)),
		[0x5b] = UN(AVX, PK, FP),
		[0x5c ... 0x5f] = NDS(AVX, SC(4)),
		[0x6f] = UN(AVX, PK, 0),
		[0x70] = UN(AVX, PK, VF_I2 | VF_IMM),
		[0x7e] = UN(AVX, 8, 8, VF_L0),
		[0x7f] = UN(AVX, PK, VF_STORE),
		[0xc2] = NDS(AVX, 4, 4, VF_LIG | FP | VF_IMM),
		[0xe6] = UN(AVX, 8, 16, FP),
	},
	[0][3] = {
		[0x10] = ROW(HOST, AVX, V, V, V, 8, 8, VF_LIG | VF_VSR),
		[0x11] = ROW(HOST, AVX, V, V, V, 8, 8, VF_LIG | VF_VSR | VF_STORE),
		[0x12] = UN(AVX, 8, 32, 0), /* VMOVDDUP */
		[0x2a] = ROW(HOST, AVX, V, V, G, 4, 4, VF_LIG | VF_WG | VF_WSZ | FP),
		[0x2c] = ROW(HOST, AVX, G, N, V, 8, 8, VF_LIG | VF_WG | FP),
		[0x2d] = ROW(HOST, AVX, G, N, V, 8, 8, VF_LIG | VF_WG | FP),
		[0x51] = NDS(AVX, SC(8)), [0x58] = NDS(AVX, SC(8)), [0x59] = NDS(AVX, SC(8)),
		[0x5a] = NDS(AVX, SC(8)),
		[0x5c ... 0x5f] = NDS(AVX, SC(8)),
		[0x70] = UN(AVX, PK, VF_I2 | VF_IMM),
		[0x7c] = NDS(AVX, PK, FP), [0x7d] = NDS(AVX, PK, FP),
		[0xc2] = NDS(AVX, 8, 8, VF_LIG | FP | VF_IMM),
		[0xd0] = NDS(AVX, PK, FP),
		[0xe6] = UN(AVX, PK, FP),
		[0xf0] = UN(AVX, PK, VF_NOREG),
	},
	/* ---- 0F 38 ---- */
	[1][0] = {
		[0xf2] = ROW(GPR, BMI1, G, G, G, 4, 4, VF_L0 | VF_WG | VF_WSZ), /* ANDN */
		/* group 17: /1 BLSR, /2 BLSMSK, /3 BLSI; VEX.vvvv is the destination */
		[0xf3] = { .flags = VF_L0 | VF_WG | VF_WSZ, .kind = VK_GPR, .feat = FEAT_BMI1,
			   .reg = VO_N, .vvvv = VO_G, .rm = VO_G, .m128 = 4, .m256 = 4,
			   .exts = 0x0e },
		[0xf5] = ROW(GPR, BMI2, G, G, G, 4, 4, VF_L0 | VF_WG | VF_WSZ), /* BZHI */
		[0xf7] = ROW(GPR, BMI1, G, G, G, 4, 4, VF_L0 | VF_WG | VF_WSZ), /* BEXTR */
	},
	[1][1] = {
		[0x00 ... 0x0b] = INT(0),
		[0x0c] = NDS(AVX, PK, VF_W0), [0x0d] = NDS(AVX, PK, VF_W0),
		[0x0e] = UN(AVX, PK, VF_W0), [0x0f] = UN(AVX, PK, VF_W0),
		[0x13] = UN(F16C, 8, 16, VF_W0 | FP),
		[0x16] = NDS(AVX2, 32, 32, VF_L1 | VF_W0),
		[0x17] = UN(AVX, PK, 0),
		[0x18] = UN(AVX, 4, 4, VF_W0 | VF_R2),
		[0x19] = UN(AVX, 8, 8, VF_L1 | VF_W0 | VF_R2),
		[0x1a] = UN(AVX, 16, 16, VF_L1 | VF_W0 | VF_NOREG),
		[0x1c ... 0x1e] = UN(AVX, PK, VF_I2),
		[0x20] = UN(AVX, 8, 16, VF_I2), [0x21] = UN(AVX, 4, 8, VF_I2),
		[0x22] = UN(AVX, 2, 4, VF_I2), [0x23] = UN(AVX, 8, 16, VF_I2),
		[0x24] = UN(AVX, 4, 8, VF_I2), [0x25] = UN(AVX, 8, 16, VF_I2),
		[0x28] = INT(0), [0x29] = INT(0),
		[0x2a] = UN(AVX, PK, VF_I2 | VF_ALIGN | VF_NOREG),
		[0x2b] = INT(0),
		[0x2c] = ROW(MASKLD, AVX, V, V, V, PK, VF_W0 | VF_NOREG),
		[0x2d] = ROW(MASKLD, AVX, V, V, V, PK, VF_W0 | VF_NOREG),
		[0x2e] = ROW(MASKST, AVX, V, V, V, PK, VF_W0 | VF_NOREG | VF_STORE),
		[0x2f] = ROW(MASKST, AVX, V, V, V, PK, VF_W0 | VF_NOREG | VF_STORE),
		[0x30] = UN(AVX, 8, 16, VF_I2), [0x31] = UN(AVX, 4, 8, VF_I2),
		[0x32] = UN(AVX, 2, 4, VF_I2), [0x33] = UN(AVX, 8, 16, VF_I2),
		[0x34] = UN(AVX, 4, 8, VF_I2), [0x35] = UN(AVX, 8, 16, VF_I2),
		[0x36] = NDS(AVX2, 32, 32, VF_L1 | VF_W0),
		[0x37 ... 0x40] = INT(0),
		[0x41] = UN(AVX, 16, 16, VF_L0),
		[0x45] = NDS(AVX2, PK, VF_WK), [0x46] = NDS(AVX2, PK, VF_W0),
		[0x47] = NDS(AVX2, PK, VF_WK),
		[0x58] = UN(AVX2, 4, 4, VF_W0), [0x59] = UN(AVX2, 8, 8, VF_W0),
		[0x5a] = UN(AVX2, 16, 16, VF_L1 | VF_W0 | VF_NOREG),
		[0x78] = UN(AVX2, 1, 1, VF_W0), [0x79] = UN(AVX2, 2, 2, VF_W0),
		[0x8c] = ROW(MASKLD, AVX2, V, V, V, PK, VF_WK | VF_NOREG),
		[0x8e] = ROW(MASKST, AVX2, V, V, V, PK, VF_WK | VF_NOREG | VF_STORE),
		[0x90 ... 0x93] = ROW(GATHER, AVX2, V, V, V, 0, 0, VF_WK | VF_NOREG),
		FMA3(0x96), FMA3(0xa6), FMA3(0xb6),
		[0xdb] = UN(AES, 16, 16, VF_L0),
		[0xdc ... 0xdf] = NDS(AES, 16, 16, VF_L0),
		[0xf7] = ROW(GPR, BMI2, G, G, G, 4, 4, VF_L0 | VF_WG | VF_WSZ), /* SHLX */
	},
	[1][2] = {
		[0xf5] = ROW(GPR, BMI2, G, G, G, 4, 4, VF_L0 | VF_WG | VF_WSZ), /* PEXT */
		[0xf7] = ROW(GPR, BMI2, G, G, G, 4, 4, VF_L0 | VF_WG | VF_WSZ), /* SARX */
	},
	[1][3] = {
		[0xf5] = ROW(GPR, BMI2, G, G, G, 4, 4, VF_L0 | VF_WG | VF_WSZ), /* PDEP */
		[0xf6] = ROW(GPR, BMI2, G, G, G, 4, 4, VF_L0 | VF_WG | VF_WSZ), /* MULX */
		[0xf7] = ROW(GPR, BMI2, G, G, G, 4, 4, VF_L0 | VF_WG | VF_WSZ), /* SHRX */
	},
	/* ---- 0F 3A ---- */
	[2][1] = {
		[0x00] = UN(AVX2, 32, 32, VF_L1 | VF_W1 | VF_IMM),
		[0x01] = UN(AVX2, 32, 32, VF_L1 | VF_W1 | VF_IMM),
		[0x02] = NDS(AVX2, PK, VF_W0 | VF_IMM),
		[0x04] = UN(AVX, PK, VF_W0 | VF_IMM), [0x05] = UN(AVX, PK, VF_W0 | VF_IMM),
		[0x06] = NDS(AVX, 32, 32, VF_L1 | VF_W0 | VF_IMM),
		[0x08] = UN(AVX, PK, FP | VF_IMM), [0x09] = UN(AVX, PK, FP | VF_IMM),
		[0x0a] = NDS(AVX, 4, 4, VF_LIG | FP | VF_IMM),
		[0x0b] = NDS(AVX, 8, 8, VF_LIG | FP | VF_IMM),
		[0x0c] = NDS(AVX, PK, VF_IMM), [0x0d] = NDS(AVX, PK, VF_IMM),
		[0x0e] = INT(VF_IMM), [0x0f] = INT(VF_IMM),
		[0x14] = ROW(HOST, AVX, V, N, G, 1, 1, VF_L0 | VF_WG | VF_STORE | VF_IMM),
		[0x15] = ROW(HOST, AVX, V, N, G, 2, 2, VF_L0 | VF_WG | VF_STORE | VF_IMM),
		[0x16] = ROW(HOST, AVX, V, N, G, 4, 4, VF_L0 | VF_WG | VF_WSZ | VF_STORE | VF_IMM),
		[0x17] = ROW(HOST, AVX, V, N, G, 4, 4, VF_L0 | VF_STORE | VF_IMM),
		[0x18] = NDS(AVX, 16, 16, VF_L1 | VF_W0 | VF_IMM),
		[0x19] = UN(AVX, 16, 16, VF_L1 | VF_W0 | VF_STORE | VF_IMM),
		[0x1d] = UN(F16C, 8, 16, VF_W0 | VF_STORE | FP | VF_IMM),
		[0x20] = ROW(HOST, AVX, V, V, G, 1, 1, VF_L0 | VF_IMM),
		[0x21] = NDS(AVX, 4, 4, VF_L0 | VF_IMM),
		[0x22] = ROW(HOST, AVX, V, V, G, 4, 4, VF_L0 | VF_WG | VF_WSZ | VF_IMM),
		[0x38] = NDS(AVX2, 16, 16, VF_L1 | VF_W0 | VF_IMM),
		[0x39] = UN(AVX2, 16, 16, VF_L1 | VF_W0 | VF_STORE | VF_IMM),
		[0x40] = NDS(AVX, PK, FP | VF_IMM),
		[0x41] = NDS(AVX, 16, 16, VF_L0 | FP | VF_IMM),
		[0x42] = INT(VF_IMM),
		[0x44] = NDS(PCLMULQDQ, 16, 16, VF_L0 | VF_IMM),
		[0x46] = NDS(AVX2, 32, 32, VF_L1 | VF_W0 | VF_IMM),
		[0x4a] = NDS(AVX, PK, VF_W0 | VF_IS4 | VF_IMM),
		[0x4b] = NDS(AVX, PK, VF_W0 | VF_IS4 | VF_IMM),
		[0x4c] = INT(VF_W0 | VF_IS4 | VF_IMM),
		[0x60 ... 0x63] = UN(AVX, 16, 16, VF_L0 | VF_WG | VF_IMM),
		[0xdf] = UN(AES, 16, 16, VF_L0 | VF_IMM),
	},
	[2][3] = {
		[0xf0] = ROW(GPR, BMI2, G, N, G, 4, 4, VF_L0 | VF_WG | VF_WSZ | VF_IMM), /* RORX */
	},
};
/* clang-format on */

const struct vexrow *
vex_row(unsigned map, unsigned pp, unsigned op)
{
	static const struct vexrow none = { .kind = VK_NONE };
	if (map < 1 || map > 3)
		return &none;
	return &rows[map - 1][pp & 3][op & 0xff];
}

bool
vex_valid(const struct vexrow *r, const struct cpu_features *feat, unsigned l, unsigned w,
	  unsigned vvvv, unsigned modrm, bool mem, unsigned code_size, unsigned adsize,
	  unsigned reg, unsigned sib_index)
{
	if (r->kind == VK_NONE)
		return false;
	if (r->exts && !(r->exts >> ((modrm >> 3) & 7) & 1))
		return false;
	/* VEX.L (vol. 2A, 2.3.6.2 and the VEX.128/256/LIG/LZ of each page) */
	if ((r->flags & VF_L0) && l)
		return false;
	if ((r->flags & VF_L1) && !l)
		return false;
	/* VEX.W: W0/W1 forms #UD on the other value (vol. 2A, 2.3.6.1) */
	if (((r->flags & VF_W0) && w) || ((r->flags & VF_W1) && !w))
		return false;
	/* VEX.vvvv must be 1111b where it encodes no operand (vol. 2A, 2.3.6);
	 * outside 64-bit mode its bit 3 is ignored */
	unsigned vmask = code_size == 8 ? 15 : 7;
	bool vused = r->vvvv != VO_N && !((r->flags & VF_VSR) && mem);
	if (!vused && (vvvv & vmask))
		return false;
	if ((mem && (r->flags & VF_NOMEM)) || (!mem && (r->flags & VF_NOREG)))
		return false;
	if (r->kind == VK_GATHER) {
		/* VSIB (vol. 2A, 2.3.12): ModRM.rm = 100b and no 16-bit addressing;
		 * destination, index and mask registers pairwise different (#UD) */
		if ((modrm & 7) != 4 || adsize == 2)
			return false;
		if (reg == vvvv || reg == sib_index || vvvv == sib_index)
			return false;
	}
	if (!cpu_has(feat, (enum cpu_feature)r->feat))
		return false;
	if (r->kind != VK_GPR && !cpu_has(feat, FEAT_AVX))
		return false;
	if (l && (r->flags & VF_I2) && !cpu_has(feat, FEAT_AVX2))
		return false;
	if (!mem && (r->flags & VF_R2) && !cpu_has(feat, FEAT_AVX2))
		return false;
	return true;
}
