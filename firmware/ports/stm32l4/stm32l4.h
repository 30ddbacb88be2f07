/* stm32l4.h: the few STM32L476 registers the nucleo-l476rg port uses (RM0351 reference manual).
 *
 * Written from RM0351 rev 9 (RCC section 6.4, GPIO 8.5, FLASH 3.7, USART 40.8); no vendor headers.
 * Addresses are absolute; bit names follow the manual.
 */
#ifndef DC_STM32L4_H
#define DC_STM32L4_H

#include "cortexm.h"

/* RCC (reset and clock control), 0x40021000 */
#define RCC_CR DC_REG32(0x40021000u)
#define RCC_CR_HSION (1u << 8)
#define RCC_CR_HSIRDY (1u << 10)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR DC_REG32(0x40021008u)
#define RCC_CFGR_SW_MASK 3u         /* bits 1:0 system clock switch */
#define RCC_CFGR_SW_PLL 3u
#define RCC_CFGR_SWS_SHIFT 2u       /* bits 3:2 system clock switch status */
#define RCC_PLLCFGR DC_REG32(0x4002100Cu)
#define RCC_PLLCFGR_PLLSRC_HSI16 2u /* bits 1:0 */
#define RCC_PLLCFGR_PLLM_SHIFT 4u   /* bits 6:4, divider = PLLM + 1 */
#define RCC_PLLCFGR_PLLN_SHIFT 8u   /* bits 14:8, multiplier 8..86 */
#define RCC_PLLCFGR_PLLREN (1u << 24)
#define RCC_PLLCFGR_PLLR_SHIFT 25u  /* bits 26:25, 0 = divide by 2 */
#define RCC_AHB2ENR DC_REG32(0x4002104Cu)
#define RCC_AHB2ENR_GPIOAEN (1u << 0)
#define RCC_APB1ENR1 DC_REG32(0x40021058u)
#define RCC_APB1ENR1_USART2EN (1u << 17)

/* GPIOA, 0x48000000 */
#define GPIOA_MODER DC_REG32(0x48000000u)  /* 2 bits per pin: 10 = alternate function */
#define GPIOA_PUPDR DC_REG32(0x4800000Cu)  /* 2 bits per pin: 01 = pull-up */
#define GPIOA_AFRL DC_REG32(0x48000020u)   /* 4 bits per pin 0..7 */

/* USART2, 0x40004400 */
#define USART2_CR1 DC_REG32(0x40004400u)
#define USART_CR1_UE (1u << 0)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART2_BRR DC_REG32(0x4000440Cu)
#define USART2_ISR DC_REG32(0x4000441Cu)
#define USART_ISR_PE (1u << 0)
#define USART_ISR_FE (1u << 1)
#define USART_ISR_NF (1u << 2)
#define USART_ISR_ORE (1u << 3)
#define USART_ISR_RXNE (1u << 5)
#define USART_ISR_TC (1u << 6)
#define USART_ISR_TXE (1u << 7)
#define USART2_ICR DC_REG32(0x40004420u)   /* write 1 to clear: PECF 0, FECF 1, NCF 2, ORECF 3 */
#define USART2_RDR DC_REG32(0x40004424u)
#define USART2_TDR DC_REG32(0x40004428u)

/* FLASH interface, 0x40022000 */
#define FLASH_ACR DC_REG32(0x40022000u)
#define FLASH_ACR_LATENCY_MASK 7u  /* wait states */
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define FLASH_ACR_DCRST (1u << 12)
#define FLASH_KEYR DC_REG32(0x40022008u)
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_SR DC_REG32(0x40022010u)
#define FLASH_SR_ERRORS 0x0000C3FAu /* OPERR PROGERR WRPERR PGAERR SIZERR PGSERR MISERR FASTERR RDERR OPTVERR */
#define FLASH_SR_EOP (1u << 0)
#define FLASH_SR_BSY (1u << 16)
#define FLASH_CR DC_REG32(0x40022014u)
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_PER (1u << 1)
#define FLASH_CR_PNB_SHIFT 3u      /* bits 10:3, page number inside the bank */
#define FLASH_CR_BKER (1u << 11)   /* 1 = bank 2 */
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_LOCK (1u << 31)
#define FLASH_OPTR DC_REG32(0x40022020u)
#define FLASH_OPTR_BFB2 (1u << 20)  /* boot from bank 2 (banks swapped) */

#define FLASH_BANK2_BASE 0x08080000u /* 1 MB parts: bank 1 = 0x08000000.., bank 2 = 0x08080000.. */

#endif /* DC_STM32L4_H */
