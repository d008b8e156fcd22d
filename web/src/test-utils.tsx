import { MantineProvider } from '@mantine/core';
import { render } from '@testing-library/react';
import type { ReactNode } from 'react';

export const renderWithMantine = (ui: ReactNode) => render(<MantineProvider>{ui}</MantineProvider>);
