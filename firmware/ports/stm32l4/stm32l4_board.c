/* stm32l4_board.c: nucleo-l476rg clocks (80 MHz from HSI16 through the PLL) and USART2 (the ST-LINK VCP). */
#include <stdint.h>

#include "cortexm.h"
#include "stm32l4.h"

/* SYSCLK = HSI16 / M * N / R = 16 MHz / 1 * 10 / 2 = 80 MHz (VCO 160 MHz), the L476's maximum in
 * voltage range 1 (the reset default). Flash needs 4 wait states above 64 MHz (RM0351 table 11). */
static void clock_init(void)
{
    FLASH_ACR = (FLASH_ACR & ~FLASH_ACR_LATENCY_MASK) | 4u | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    while ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != 4u) {
    }
    RCC_CR |= RCC_CR_HSION;
    while ((RCC_CR & RCC_CR_HSIRDY) == 0) {
    }
    RCC_CR &= ~RCC_CR_PLLON;
    while ((RCC_CR & RCC_CR_PLLRDY) != 0) {
    }
    RCC_PLLCFGR = RCC_PLLCFGR_PLLSRC_HSI16 | (0u << RCC_PLLCFGR_PLLM_SHIFT) | (10u << RCC_PLLCFGR_PLLN_SHIFT) |
                  (0u << RCC_PLLCFGR_PLLR_SHIFT) | RCC_PLLCFGR_PLLREN;
    RCC_CR |= RCC_CR_PLLON;
    while ((RCC_CR & RCC_CR_PLLRDY) == 0) {
    }
    /* AHB, APB1 and APB2 prescalers stay at their reset value 1. */
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
    while (((RCC_CFGR >> RCC_CFGR_SWS_SHIFT) & 3u) != RCC_CFGR_SW_PLL) {
    }
}

/* USART2 on PA2 (TX) / PA3 (RX), alternate function 7, 8N1, oversampling by 16, clocked by PCLK1. */
static void uart_init(void)
{
    RCC_AHB2ENR |= RCC_AHB2ENR_GPIOAEN;
    RCC_APB1ENR1 |= RCC_APB1ENR1_USART2EN;
    (void)RCC_APB1ENR1; /* the enable takes effect before the first peripheral access */
    GPIOA_AFRL = (GPIOA_AFRL & ~(0xFFu << 8)) | (7u << 8) | (7u << 12);
    GPIOA_PUPDR = (GPIOA_PUPDR & ~(3u << 6)) | (1u << 6); /* RX idles high if the VCP is absent */
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 4)) | (2u << 4) | (2u << 6);
    USART2_CR1 = 0;
    USART2_BRR = (DC_BOARD_CLOCK_HZ + DC_BOARD_UART_BAUD / 2u) / DC_BOARD_UART_BAUD; /* 694: 115.27 kBd */
    USART2_CR1 = USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE | USART_CR1_UE;
}

int dc_board_init(void)
{
    clock_init();
    uart_init();
    /* The storage area is bank 2; with the banks swapped it would be the running image. */
    if ((FLASH_OPTR & FLASH_OPTR_BFB2) != 0) {
        dc_cortexm_puts("\r\nerror: option bit BFB2 is set (banks swapped); clear it\r\n");
        return -1;
    }
    return 0;
}

void dc_board_uart_isr(void)
{
    uint32_t isr = USART2_ISR;
    if ((isr & (USART_ISR_PE | USART_ISR_FE | USART_ISR_NF | USART_ISR_ORE)) != 0) {
        USART2_ICR = USART_ISR_PE | USART_ISR_FE | USART_ISR_NF | USART_ISR_ORE; /* same bit positions */
    }
    if ((isr & USART_ISR_RXNE) != 0) {
        dc_cortexm_rx_push((uint8_t)USART2_RDR); /* reading RDR clears RXNE */
    }
}

int dc_board_uart_tx_ready(void)
{
    return (USART2_ISR & USART_ISR_TXE) != 0;
}

int dc_board_uart_tx_idle(void)
{
    return (USART2_ISR & USART_ISR_TC) != 0;
}

void dc_board_uart_tx(uint8_t byte)
{
    USART2_TDR = byte;
}
